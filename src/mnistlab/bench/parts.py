"""The exercise's parts after training, timed the same way for our peers (exercise.py's Keras
notebook way, torch_peer.py's plain PyTorch way)."""

from __future__ import annotations

import time

import numpy as np

DROPOUT_FRACTIONS = (0.01, 0.03, 0.2, 0.6)  # the dropout study's defaults


def predicting_parts(ctx, models: dict, probabilities, dropout) -> dict:
    """Seconds of the exercise's parts after training, the same work for every way of doing
    it: confidence and cross (each tutorial model on its own test set and the other's), morph
    (three blends of two digits), dropout (K members for each fraction). models: the tutorial
    model by data set; probabilities(model, images) and dropout(model, images, p, members)
    are the way's own."""
    from mnistlab.data import other
    from mnistlab.studies.framework.context import test_set
    from mnistlab.studies.morph import STEPS

    seconds = {}
    start = time.perf_counter()
    for dataset, model in models.items():
        probabilities(model, test_set(ctx, dataset)[0]).max(axis=1)
    seconds["confidence"] = time.perf_counter() - start
    start = time.perf_counter()
    for dataset, model in models.items():
        probabilities(model, test_set(ctx, other(dataset))[0]).max(axis=1)
    seconds["cross"] = time.perf_counter() - start
    start = time.perf_counter()
    digits = test_set(ctx, "mnist")[0]
    a = np.linspace(0.0, 1.0, STEPS)[:, None, None]
    for i, j in ((0, 1), (2, 3), (4, 5)):
        probabilities(models["mnist"], a * digits[i] + (1 - a) * digits[j])
    seconds["morph"] = time.perf_counter() - start
    start = time.perf_counter()
    images = test_set(ctx, "fashion-mnist")[0]
    for p in DROPOUT_FRACTIONS:
        dropout(models["fashion-mnist"], images, p, ctx.profile.members)
    seconds["dropout"] = time.perf_counter() - start
    return seconds
