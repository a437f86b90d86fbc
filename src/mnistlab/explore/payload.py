"""What the trust explorer page carries, per data set: the trained models' weights, test images,
and every threshold its outputs use, each fitted on the held-out validation split (never on the
test images the page shows).

- models: the base model (float32: the page's probabilities are Python's), the model trained
  with dropout for MC dropout and two more deep-ensemble members (float16: half the bytes; the
  tests compare the page with Python on the same rounded weights).
- conformal: LAC thresholds q(a) for a grid of a, from the held-out split.
- ood: ViM (the best feature-space detector that fits in a page: a 128 x 64 residual basis,
  not a bank of training features), its threshold at 95% true-positive rate on held-out images.
- abstain: the largest max-softmax threshold whose 95% Clopper-Pearson bound on the error of
  the answers kept stays within the target (uncertainty/abstention.py).
"""

from __future__ import annotations

import base64

import numpy as np

from mnistlab.data import info
from mnistlab.models.predict import penultimate_features
from mnistlab.uncertainty import abstention, conformal, detectors

ALPHAS = tuple(round(a, 2) for a in np.arange(0.01, 0.31, 0.01))
ERROR_TARGET = {"mnist": 0.01, "fashion-mnist": 0.05}  # the abstain rule's promised error
DELTA = 0.05
TPR = 0.95  # the OOD flag keeps this share of held-out in-distribution images
TEST_IMAGES = 100  # embedded test images per data set (random button, morph; the page test)


def encoded(array: np.ndarray, dtype=np.float32) -> dict:
    """{'dtype', 'shape', 'data': base64 of the little-endian bytes}."""
    array = np.ascontiguousarray(np.asarray(array, dtype))
    return {
        "dtype": np.dtype(dtype).name,
        "shape": list(array.shape),
        "data": base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode(),
    }


def decoded(entry: dict) -> np.ndarray:
    """The array of encoded() (what the page decodes, here for the tests)."""
    raw = base64.b64decode(entry["data"])
    return np.frombuffer(raw, np.dtype(entry["dtype"]).newbyteorder("<")).reshape(entry["shape"])


def dense_layers(model, dtype=np.float32) -> list[dict]:
    """The MLP's dense layers in order: weights, bias, activation (the page's forward pass)."""
    layers = []
    for layer in model.layers:
        weights = layer.get_weights()
        if len(weights) != 2:  # Flatten, Dropout: nothing to carry
            continue
        activation = layer.get_config().get("activation", "linear")
        layers.append(
            {
                "w": encoded(weights[0], dtype),
                "b": encoded(weights[1], dtype),
                "activation": activation,
            }
        )
    return layers


def dataset_payload(dataset: str, models: dict, validation: tuple, train_images, test: tuple):
    """Everything the page needs for one data set. models: {'base', 'mc_dropout', 'ensemble'
    (the members after the base model)}; validation: held-out (images, labels)."""
    from mnistlab.models.predict import predict_proba

    base = models["base"]
    x_val, y_val = validation
    probabilities = predict_proba(base, x_val)
    lac = conformal.lac_scores(probabilities)
    true_scores = conformal.true_label_scores(lac, y_val)
    kernel, bias = base.layers[-1].get_weights()
    features = penultimate_features(base, {"train": train_images, "validation": x_val})
    vim = detectors.vim_fit(features["train"], kernel, bias)
    vim_validation = detectors.vim(features["validation"], kernel, bias, vim)
    score = 1.0 - probabilities.max(axis=1)
    rule = abstention.threshold_for_error(
        score, probabilities.argmax(axis=1) != y_val, target=ERROR_TARGET[dataset], delta=DELTA
    )
    images, labels = test
    chosen = np.random.default_rng(0).choice(len(images), TEST_IMAGES, replace=False)
    return {
        "name": dataset,
        "classes": list(info(dataset).class_names),
        "models": {
            "base": dense_layers(base),
            "mc_dropout": dense_layers(models["mc_dropout"], np.float16),
            "ensemble": [dense_layers(m, np.float16) for m in models["ensemble"]],
        },
        "images": encoded(np.round(images[chosen] * 255), np.uint8),
        "labels": labels[chosen].tolist(),
        "indices": chosen.tolist(),
        "conformal": {
            "alphas": list(ALPHAS),
            "q": [conformal.conformal_quantile(true_scores, a) for a in ALPHAS],
            "calibration_size": len(y_val),
        },
        "ood": {
            "name": "ViM",
            "origin": encoded(vim["origin"]),
            "residual": encoded(vim["residual_space"]),
            "alpha": float(vim["alpha"]),
            "threshold": float(np.quantile(vim_validation, TPR)),
        },
        "abstain": {
            # None: no threshold keeps the bound (abstain on everything); JSON has no -inf
            "threshold": rule["threshold"] if np.isfinite(rule["threshold"]) else None,
            "target": ERROR_TARGET[dataset],
            "delta": DELTA,
            "kept": rule["kept"],
            "bound": rule["bound"],
        },
    }
