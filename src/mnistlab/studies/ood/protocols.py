"""The out-of-distribution protocols: which images are in, which are out, how the outs are
grouped, and the published numbers the open-set protocol is printed beside.

Near and far, the rule (OpenOOD groups its sets the same way, by how much besides the classes
changes): a set is **near** when its images are objects framed the way the training images
are (28 x 28, centred, light strokes on a black ground): only what they show is new. It is
**far** when the images themselves are of another kind (pixel noise, or the ground inverted to
white), so low-level statistics alone give them away. So: the other data set, the letters and
held-out classes are near; uniform noise, Gaussian noise and inverted images are far.
"""

from __future__ import annotations

import numpy as np

from mnistlab.data import other
from mnistlab.data.letters import letters
from mnistlab.studies.framework.context import StudyContext, test_set
from mnistlab.uncertainty import BASE

OOD_SIZE = 1000  # per out-of-distribution set: AUROC standard error about 0.005
OPEN_SET_CLASSES = (0, 1, 2, 3, 4)  # trained on; 5-9 are the out-of-distribution set
OPEN_SET_KEY = "ood/classes 5-9"
NEAR, FAR, OPEN = "near", "far", "open set"
RULE = (
    "near: objects framed like the training images (28 x 28, centred, light on black), only "
    "the content is new (the other data set, letters, held-out classes); far: images of "
    "another kind (pixel noise, an inverted white ground), given away by their pixel statistics"
)

# oodeel's benchmark, MNIST digits 0-4 in distribution vs 5-9 out, a small convnet, one run
# (AUROC, TensorFlow / PyTorch). ReAct is reported only as about +0.02 over energy.
OODEEL = {
    "msp": (0.939, 0.907),
    "energy": (0.929, 0.914),
    "gen": (0.927, 0.908),
    "odin": (0.899, 0.786),
    "mahalanobis": (0.893, 0.865),
    "rmds": (0.901, 0.880),
    "knn": (0.975, 0.974),
    "vim": (0.967, 0.964),
}


def standard_sets(ctx: StudyContext, dataset: str, images: np.ndarray) -> tuple[dict, dict]:
    """({set key: images}, {set key: NEAR or FAR}): the test images, then the other data set,
    the letters, uniform and Gaussian noise and inverted test images. The first five are the
    scoreboard's own (same seed, same images), so their method outputs are reused."""
    from mnistlab.studies.scoreboard.study import ood_sets

    size = min(OOD_SIZE, len(images))
    sets = {"test": images, **ood_sets(ctx, dataset, images, OOD_SIZE)}
    sets["ood/letters"] = letters(size, ctx.seed)[0]
    groups = {f"ood/{other(dataset)}": NEAR, "ood/letters": NEAR}
    groups |= {k: FAR for k in ("ood/uniform", "ood/gaussian", "ood/inverted")}
    return sets, groups


def open_set_sets(ctx: StudyContext, dataset: str) -> tuple[dict, np.ndarray]:
    """({'test': test images of classes 0-4, OPEN_SET_KEY: those of 5-9}, the labels of the
    first): every test image, as oodeel's benchmark uses them."""
    images, labels = test_set(ctx, dataset)
    inside = np.isin(labels, OPEN_SET_CLASSES)
    return {"test": images[inside], OPEN_SET_KEY: images[~inside]}, labels[inside]


def is_single_network(method) -> bool:
    """The methods this study compares: those that read one trained network once (max softmax,
    the scores and the detectors, temperature scaling, Laplace). Ensembles and weight
    dropout's 100 copies are in the scoreboard and shift studies, on these same sets but the
    letters."""
    return set(method.roles) == {BASE} and not method.per_fraction
