"""The exercise the plain PyTorch way: a peer row of the benchmark, the fastest straightforward
way people write it (about as fast as the Keras notebook way: docs/measurements.md).

Plain means what a PyTorch tutorial does: an nn.Sequential per variant, trained by a loop
over shuffled slices of one tensor, batch 32; predictions under torch.no_grad(); weight
dropout by copying the model and masking its weights, K times per p; on the GPU when PyTorch
sees one (what such a user would write), else on the CPU. PyTorch is an optional
extra for the benchmark only (pip install 'mnistlab[bench]'); without it the row is left out
with the reason.
"""

from __future__ import annotations

import copy
import time

import numpy as np


def missing() -> str | None:
    """Why the PyTorch row cannot run here, or None when it can."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return "PyTorch is not installed (pip install 'mnistlab[bench]')"
    return None


def device():
    """Where a plain PyTorch user would run: the GPU when there is one."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(np.array(images, np.float32)).to(device())


def network(config):
    """Flatten -> Dense(h, activation) ... -> Dense(10), as build_model's MLP."""
    from torch import nn

    activations = {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,
        "elu": nn.ELU,
        "selu": nn.SELU,
        "softplus": nn.Softplus,
        "swish": nn.SiLU,
        "linear": nn.Identity,
    }
    layers, width = [nn.Flatten()], 28 * 28
    for units in config.hidden_units:
        layers += [nn.Linear(width, units), activations[config.activation]()]
        width = units
    return nn.Sequential(*layers, nn.Linear(width, 10))


def optimizer(name: str, parameters, learning_rate: float):
    """Keras' optimizers' defaults where they differ from PyTorch's (epsilon, RMSprop's rho)."""
    import torch

    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate, eps=1e-7)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=learning_rate, alpha=0.9, eps=1e-7)
    return torch.optim.SGD(parameters, lr=learning_rate)


def train(spec, x: np.ndarray, y: np.ndarray):
    import torch
    from torch.nn import functional

    torch.manual_seed(spec.seed)
    model = network(spec.model).to(device())
    step = optimizer(spec.train.optimizer, model.parameters(), spec.train.learning_rate)
    x, y = as_tensor(x), torch.from_numpy(y.astype(np.int64)).to(device())
    batch = spec.train.batch_size
    for _ in range(spec.train.epochs):
        order = torch.randperm(len(x), device=x.device)
        for start in range(0, len(x), batch):
            rows = order[start : start + batch]
            step.zero_grad()
            functional.cross_entropy(model(x[rows]), y[rows]).backward()
            step.step()
    return model


def probabilities(model, images: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.softmax(model(as_tensor(images)), 1).cpu().numpy()


def dropout_votes(model, images: np.ndarray, *, p: float, members: int) -> np.ndarray:
    """(N, 10) votes of `members` copies with a fraction p of each weight matrix zeroed and
    the rest scaled by 1 / (1 - p) (biases kept, as the study does by default)."""
    import torch

    x = as_tensor(images)
    votes = np.zeros((len(images), 10), np.int64)
    with torch.no_grad():
        for _ in range(members):
            member = copy.deepcopy(model)
            for name, weight in member.named_parameters():
                if name.endswith("weight"):
                    weight.mul_((torch.rand_like(weight) >= p) / (1 - p))
            votes[np.arange(len(images)), member(x).argmax(1).cpu().numpy()] += 1
    return votes


def exercise_torch(ctx) -> dict:
    """The exercise in this process, the plain PyTorch way: seconds per part, and each
    variant's test accuracy (the same recipe as ours, so comparable)."""
    from mnistlab.bench.parts import predicting_parts
    from mnistlab.studies.framework.context import test_set, tutorial_spec
    from mnistlab.studies.variants.grid import default_grid
    from mnistlab.training import training_arrays

    seconds, models, accuracy = {}, {}, {}
    start = time.perf_counter()
    for variant in default_grid(("mnist", "fashion-mnist")):
        spec = tutorial_spec(ctx, variant.dataset, **variant.changes)
        x, y, _, _ = training_arrays(spec, ctx.data_dir)
        model = train(spec, x, y)
        test_x, test_y = test_set(ctx, variant.dataset)
        right = probabilities(model, test_x).argmax(1) == test_y
        accuracy[f"{variant.dataset}/{variant.name}"] = float(right.mean())
        models.setdefault(variant.dataset, model)  # the first of each grid is the tutorial's
    seconds["variants"] = time.perf_counter() - start
    seconds |= predicting_parts(
        ctx,
        models,
        probabilities,
        lambda model, images, p, members: dropout_votes(model, images, p=p, members=members),
    )
    return {"seconds": seconds, "wall_seconds": sum(seconds.values()), "test_acc": accuracy}
