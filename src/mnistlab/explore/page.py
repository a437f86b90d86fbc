"""`mnistlab explore`: one self-contained HTML page (weights, images, thresholds and script
inside; no network, no server needed) where every method answers for a drawn digit, a test
image or a blend of two. `--serve` serves it on 127.0.0.1 and opens it (server.py)."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

from mnistlab import progress
from mnistlab.errors import ConfigError
from mnistlab.explore.payload import dataset_payload
from mnistlab.runs import atomic_path
from mnistlab.seeds import replicate_seeds
from mnistlab.studies.framework.context import StudyContext, test_set, trained_models, tutorial_spec
from mnistlab.training import training_arrays
from mnistlab.uncertainty import MC_DROPOUT_RATE
from mnistlab.version import __version__

DATASETS = ("mnist", "fashion-mnist")
EXTRA_MEMBERS = 2  # the deep ensemble on the page: the base model and two more (page size)


def model_plan(ctx: StudyContext) -> dict:
    """{(dataset, role): RunSpec or list}: the scoreboard's first replicate's base model, its
    MC dropout model and ensemble members 2 and 3 (same specs: same cached models)."""
    if ctx.arch != "mlp":
        raise ConfigError(
            f"the explorer's forward pass is the tutorial MLP's; --arch {ctx.arch} is not "
            f"supported there: leave --arch out (or give --arch mlp)"
        )
    validation = {"validation_size": ctx.profile.validation_size}
    # the first replicate's base model and two more of its ensemble, by the method studies' rule
    seeds = replicate_seeds(
        ctx.seed, 0, ensemble_size=1 + EXTRA_MEMBERS, stride=ctx.profile.ensemble_size
    )
    plan = {}
    for dataset in DATASETS:
        plan[dataset, "base"] = tutorial_spec(ctx, dataset, seed=seeds[0], **validation)
        plan[dataset, "mc_dropout"] = tutorial_spec(
            ctx, dataset, seed=ctx.seed, dropout=MC_DROPOUT_RATE, **validation
        )
        plan[dataset, "ensemble"] = [
            tutorial_spec(ctx, dataset, seed=s, **validation) for s in seeds[1:]
        ]
    return plan


def build(ctx: StudyContext, models: dict | None = None) -> dict:
    """The page's payload: both data sets, from the models trained (or cached) for them."""
    models = trained_models(ctx, model_plan(ctx)) if models is None else models
    datasets = []
    for dataset in DATASETS:
        progress.say(f"explore: {dataset}: thresholds on the held-out split, weights")
        base = models[dataset, "base"]
        x_train, _, x_val, y_val = training_arrays(base.spec, ctx.data_dir)
        roles = {
            "base": base.model,
            "mc_dropout": models[dataset, "mc_dropout"].model,
            "ensemble": [m.model for m in models[dataset, "ensemble"]],
        }
        datasets.append(
            dataset_payload(dataset, roles, (x_val, y_val), x_train, test_set(ctx, dataset))
        )
    return {"datasets": datasets, "seed": ctx.seed, "quick": ctx.quick}


def html(payload: dict) -> str:
    """The page: the template with its style, the payload (JSON, '</' escaped so that no
    string can close the script element) and the script inlined."""
    folder = resources.files("mnistlab.explore")
    text = folder.joinpath("explorer.html").read_text(encoding="utf-8")
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    for marker, content in (
        ("/*STYLE*/", folder.joinpath("explorer.css").read_text(encoding="utf-8")),
        ("/*PAYLOAD*/", data),
        ("/*SCRIPT*/", folder.joinpath("explorer.js").read_text(encoding="utf-8")),
    ):
        text = text.replace(marker, content, 1)
    return text


def write(ctx: StudyContext) -> Path:
    """OUT/explore/index.html, written atomically; returns its path. When reusing (the
    report), a page made from the same models, options and version is kept as it is."""
    page = ctx.folder("explore") / "index.html"
    models = trained_models(ctx, model_plan(ctx))
    stamp = fingerprint(ctx, models)
    if ctx.reuse and not ctx.retrain and stamp_of(page) == stamp:
        return page
    text = html(build(ctx, models))
    doctype, rest = text.split("\n", 1)
    with atomic_path(page) as temporary:
        temporary.write_text(f"{doctype}\n<!-- {STAMP} {stamp} -->\n{rest}", encoding="utf-8")
    return page


STAMP = "mnistlab explorer"


def fingerprint(ctx: StudyContext, models: dict) -> str:
    """What the page is made of: the models' recorded weights, the options, the version."""
    weights = [m.meta.get("weights_sha256") for m in plan_models(models)]
    made_of = [__version__, ctx.seed, ctx.quick, weights]
    return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()[:16]


def plan_models(models: dict) -> list:
    return [m for value in models.values() for m in (value if isinstance(value, list) else [value])]


def stamp_of(page: Path) -> str | None:
    """The fingerprint a page was written with (its second line), or None."""
    try:
        with open(page, encoding="utf-8") as handle:
            handle.readline()
            found = re.fullmatch(rf"<!-- {STAMP} ([0-9a-f]+) -->\n?", handle.readline())
    except (OSError, UnicodeDecodeError):
        return None
    return found.group(1) if found else None
