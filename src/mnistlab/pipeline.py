"""The lab report: train every model the studies need (once, in parallel), run or reuse each
study, then write index.html, report.md and results.json into OUT/report/.

It knows studies only through the registry's records: their model specs, run and sections.
index.html is written last, so its presence means the report is complete; a study whose
results are already on disk (same inputs) is reused, so an interrupted report resumes.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from mnistlab import flops, interrupt, progress
from mnistlab.data import file_checksums
from mnistlab.explore import page as explore_page
from mnistlab.report.render import render_html, render_markdown
from mnistlab.runs import check_writable, clean_temporaries, environment, write_json, write_text
from mnistlab.studies import registry
from mnistlab.studies.framework.context import StudyContext, get_models, plan_specs
from mnistlab.training import is_cached
from mnistlab.uncertainty import remote_outputs
from mnistlab.version import __version__


def default_plan(studies=None) -> list[tuple]:
    """(study, options) for each study, with its default options."""
    studies = registry.studies() if studies is None else studies
    return [(study, study.options()) for study in studies]


def needed_specs(ctx: StudyContext, plan) -> list:
    """Every model the planned studies (and the trust explorer) need, each once, in the order
    first needed."""
    specs = [spec for study, options in plan for spec in study.model_specs(ctx, options)]
    if makes_explorer(ctx):
        specs += plan_specs(explore_page.model_plan(ctx))
    return list(dict.fromkeys(specs))


def makes_explorer(ctx: StudyContext) -> bool:
    """The report writes the trust explorer beside it (OUT/explore/) for the tutorial MLP, the
    network the page's forward pass computes."""
    return ctx.arch == "mlp"


def train_needed(ctx: StudyContext, plan) -> None:
    """Train whatever is not cached in one parallel call (a cold run keeps every core busy to
    the end); the studies then find their models in the cache."""
    specs = needed_specs(ctx, plan)
    missing = (
        specs
        if ctx.retrain
        else [spec for spec in specs if not is_cached(spec, cache_dir=ctx.cache_dir)]
    )
    if missing:
        progress.say(f"report: training {len(missing)} models ...")
        get_models(ctx, missing)


def run_studies(ctx: StudyContext, plan, flop: dict | None = None) -> tuple[dict, dict]:
    """Train what the plan needs, then run (or reuse) each study: (results, seconds) by name.
    flop, if given, receives the FLOPs of each phase (training, then each study)."""
    seconds, flop = {}, {} if flop is None else flop
    start, flop_start = time.perf_counter(), flops.total()
    train_needed(ctx, plan)
    seconds["training"] = time.perf_counter() - start
    flop["training"] = flops.total() - flop_start
    # The models are fresh now: --retrain must not train them again in every study, only
    # stop the studies from reusing their saved results.
    ctx = replace(ctx, retrain=False, reuse=ctx.reuse and not ctx.retrain)
    documents = {}
    for study, options in plan:
        interrupt.check()
        progress.say(f"report: {study.name} ...")
        start, flop_start = time.perf_counter(), flops.total()
        documents[study.name] = study.run(ctx, options)
        seconds[study.name] = time.perf_counter() - start
        flop[study.name] = flops.total() - flop_start
    if makes_explorer(ctx):
        progress.say("report: the trust explorer ...")
        start, flop_start = time.perf_counter(), flops.total()
        explore_page.write(ctx)
        seconds["explore"] = time.perf_counter() - start
        flop["explore"] = flops.total() - flop_start
    return documents, seconds


def measure_cost(seconds: dict, flop: dict, *, size: int = 2048) -> dict:
    """Wall time against the FLOP floor of the work done (flops.py), in all and per phase.
    A run that computed nothing (every result reused) has no floor, and measures no peak."""
    peak = flops.matmul_peak(size=size) if sum(flop.values()) > 0 else None

    def against_floor(wall: float, work: float) -> dict:
        floor = work / (peak * 1e9) if peak else 0.0
        return {
            "wall_seconds": wall,
            "flop": work,
            "floor_seconds": floor,
            "ratio": wall / floor if floor > 0 else float("nan"),
        }

    return {
        **against_floor(sum(seconds.values()), sum(flop.values())),
        "peak_gflops": peak,
        "phases": {name: against_floor(seconds[name], flop[name]) for name in seconds},
    }


def _computing_run(report_dir: Path, documents: dict, cost: dict, created: str) -> dict:
    """The cost to show: this run's, unless every study was reused, where the previous
    report's (the run that computed these numbers) is kept: a warm re-run costs a fraction of
    a second, and saying so in the header would hide what the results cost."""
    if not all(d.get("reused") for d in documents.values()):
        return {"cost": cost, "at": created, "earlier": False}
    try:
        previous = json.loads((report_dir / "results.json").read_text())
        return {
            "cost": previous["cost"],
            "at": previous.get("cost_computed_at", previous["created"]),
            "earlier": True,
        }
    except (OSError, ValueError, KeyError, TypeError):  # no earlier report: this run's, as it is
        return {"cost": cost, "at": created, "earlier": False}


def run(ctx: StudyContext, plan=None) -> dict:
    """Run or reuse every planned study (default: all, default options); write OUT/report/."""
    plan = default_plan() if plan is None else plan
    check_writable(Path(ctx.out) / "report" / "figures", "--out")  # before the work, not after
    start, flop, sent = time.perf_counter(), {}, dict(remote_outputs.traffic())
    documents, seconds = run_studies(ctx, plan, flop)
    cost = measure_cost(seconds, flop, size=1024 if ctx.quick else 2048)
    out = Path(ctx.out)
    report_dir = out / "report"
    for folder in (report_dir, report_dir / "figures"):
        clean_temporaries(folder)
    sections = [
        section
        for study, _ in plan
        for section in study.sections(documents[study.name], out / study.name)
    ]
    figure_names = {}
    for s in sections:
        for f in s.figures:
            figure_names[f.path] = f"{f.path.parent.name}-{f.path.name}"
            target = report_dir / "figures" / figure_names[f.path]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.path, target)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    computed = _computing_run(report_dir, documents, cost, created)
    meta = {
        "created": created,
        "version": __version__,
        "seed": ctx.seed,
        "seeds": ctx.seed_list,
        "arch": ctx.arch,
        "quick": ctx.quick,
        "cost": computed["cost"],  # of the run that computed these results
        "cost_computed_at": computed["at"],
        "cost_from_earlier_run": computed["earlier"],
        "cost_this_run": cost,
        "environment": environment(),
        "study_seconds": seconds,
        "study_seconds_when_computed": {k: d["seconds"] for k, d in documents.items()},
        "reused": {k: bool(d.get("reused")) for k, d in documents.items()},
        "data_sha256": {name: file_checksums(name) for name in ("mnist", "fashion-mnist")},
        # The trust explorer beside the report (`mnistlab explore --out` the same folder)
        "explorer": (Path(ctx.out) / "explore" / "index.html").is_file(),
        # With --executor ray: the evaluation tasks and the objects put into Ray's store
        "ray": {k: v - sent[k] for k, v in remote_outputs.traffic().items()}
        if ctx.executor == "ray"
        else None,
    }
    results = {
        **meta,
        "sections": {s.key: s.shown() for s in sections},
        "studies": {
            k: {kk: vv for kk, vv in d.items() if kk != "environment"} for k, d in documents.items()
        },
    }
    write_json(report_dir / "results.json", results, compact=True)  # every study's, large
    write_text(report_dir / "report.md", render_markdown(sections, meta, figure_names))
    write_text(report_dir / "index.html", render_html(sections, meta))  # last: means complete
    return {
        "folder": report_dir,
        "seconds": time.perf_counter() - start,
        "meta": meta,
        "sections": sections,
    }
