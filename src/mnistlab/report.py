"""The lab report: run (or reuse) every study, then write index.html, report.md and results.json.

One list of Sections is built from the studies' results; HTML and Markdown are both rendered
from it, so they always show the same numbers, and results.json holds every number shown.
Conclusions are templates filled with measured values, worded by the direction of the numbers.
"""

from __future__ import annotations

import base64
import html
import math
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mnistlab import __version__, progress
from mnistlab.data import file_checksums
from mnistlab.experiments.common import StudyContext
from mnistlab.runs import environment, write_json, write_text

REFERENCE = {  # published / tutorial numbers the text compares against
    "fashion-mnist": {
        "test/acc": "about 0.88 (Keras tutorial); 0.871 (Xiao et al. 2017, sklearn MLP)"
    },
    "mnist": {"test/acc": "about 0.975-0.98 (tutorial MLP); 0.972 (Xiao et al. 2017)"},
}


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)


def _figures(document: dict, folder: Path) -> list[Figure]:
    return [Figure(folder / name, caption) for name, caption in document["figures"].items()]


def class_name(dataset: str, index: int) -> str:
    from mnistlab.datasets import info

    return info(dataset).class_names[int(index)]


def num(x) -> float:
    """A number from results.json, where NaN was stored as null."""
    return float("nan") if x is None else float(x)


def fmt(x, spec: str = ".4f") -> str:
    x = num(x)
    return "n/a" if math.isnan(x) else format(x, spec)


def pct(x) -> str:
    x = num(x)
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


# ---------------------------------------------------------------- sections
def section_tutorial(dataset: str, confidence: dict, variants: dict) -> Section:
    model = confidence["datasets"][dataset]["model"]
    row = next(
        (
            r
            for r in variants["rows"]
            if r["dataset"] == dataset and r["variant"].startswith("tutorial")
        ),
        None,
    )
    gap = model["train/acc"] - model["test/acc"]
    title = (
        "The tutorial model on Fashion-MNIST"
        if dataset == "fashion-mnist"
        else "The same model on MNIST digits"
    )
    text = (
        f"Flatten -> Dense(128, relu) -> Dense(10), Adam (lr 0.001), batch 32, "
        f"{model['spec']['train']['epochs']} epochs, seed {model['spec']['seed']}: train accuracy "
        f"**{fmt(model['train/acc'], '.4f')}**, test accuracy **{fmt(model['test/acc'], '.4f')}** "
        f"(reference: {REFERENCE[dataset]['test/acc']}). The train-test gap is {fmt(gap, '.4f')}: the model "
        f"{'fits the training set noticeably better than unseen images' if gap > 0.02 else 'generalises with little overfitting'}."
        f" Training took {fmt(model['seconds_per_epoch'], '.2f')} s per epoch."
    )
    numbers = {
        "train/acc": model["train/acc"],
        "test/acc": model["test/acc"],
        "seconds_per_epoch": model["seconds_per_epoch"],
    }
    if row is not None:
        numbers["variants_row_test/acc"] = row["test/acc"]
    return Section(f"tutorial-{dataset}", title, [text], numbers=numbers)


def section_variants(document: dict, folder: Path) -> Section:
    rows = document["rows"]
    seeds = document["options"]["seeds"]
    cell = (
        (lambda m, s: f"{fmt(m, '.4f')} ± {fmt(s, '.4f')}")
        if seeds > 1
        else (lambda m, s: f"{fmt(m, '.4f')}")
    )
    table = Table(
        ["data set", "variant", "train acc", "test acc", "s/epoch"],
        [
            [
                r["dataset"],
                r["variant"],
                cell(r["train/acc"], r["train/acc_std"]),
                cell(r["test/acc"], r["test/acc_std"]),
                f"{fmt(r['seconds_per_epoch'], '.2f')}",
            ]
            for r in rows
        ],
    )
    paragraphs = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        subset = [r for r in rows if r["dataset"] == dataset]
        best = max(subset, key=lambda r: r["test/acc"])
        worst = min(subset, key=lambda r: r["test/acc"])
        spread = best["test/acc"] - worst["test/acc"]
        paragraphs.append(
            f"On {dataset}, the best test accuracy is {fmt(best['test/acc'], '.4f')} ({best['variant']}) and the lowest "
            f"{fmt(worst['test/acc'], '.4f')} ({worst['variant']}), a spread of {fmt(100 * spread, '.2f')} points"
            + (
                " (these differences are within what a change of seed alone can move; run with --seeds N to see)"
                if seeds == 1 and spread < 0.005
                else ""
            )
            + "."
        )
    numbers = {
        f"{r['dataset']}/{r['variant']}/{k}": r[k] for r in rows for k in ("train/acc", "test/acc")
    }
    return Section(
        "variants", "Network variants", paragraphs, [table], _figures(document, folder), numbers
    )


def section_confidence(document: dict, folder: Path) -> Section:
    table = Table(
        [
            "data set",
            "right",
            "wrong",
            "mean conf. right",
            "mean conf. wrong",
            "wrong with conf. > 0.9",
        ],
        [],
    )
    paragraphs, numbers = [], {}
    for dataset, e in document["datasets"].items():
        table.rows.append(
            [
                dataset,
                str(e["n_right"]),
                str(e["n_wrong"]),
                f"{fmt(e['mean_conf_right'], '.3f')}",
                f"{fmt(e['mean_conf_wrong'], '.3f')}",
                pct(e["share_wrong_above_0.9"]),
            ]
        )
        numbers.update(
            {
                f"{dataset}/{k}": e[k]
                for k in (
                    "n_right",
                    "n_wrong",
                    "mean_conf_right",
                    "mean_conf_wrong",
                    "share_wrong_above_0.9",
                )
            }
        )
        paragraphs.append(
            f"On {dataset}, wrong answers have a mean confidence of {fmt(e['mean_conf_wrong'], '.3f')} against "
            f"{fmt(e['mean_conf_right'], '.3f')} for right ones: lower on average, but "
            f"{pct(e['share_wrong_above_0.9'])} of the {e['n_wrong']} wrong answers are still given with confidence "
            f"above 0.9, so a high softmax probability alone does not guarantee a right answer."
        )
    return Section(
        "confidence",
        "Confidence of right and wrong answers",
        paragraphs,
        [table],
        _figures(document, folder),
        numbers,
    )


def section_cross(document: dict, folder: Path) -> Section:
    table = Table(
        [
            "model -> data",
            "accuracy",
            "mean conf. other data",
            "mean conf. own data",
            "> 0.9",
            "> 0.99",
            "most common class",
        ],
        [],
    )
    paragraphs, numbers = [], {}
    for key, e in document["directions"].items():
        source, target = key.split("->")
        table.rows.append(
            [
                key,
                f"{fmt(e['acc'], '.4f')}",
                f"{fmt(e['mean_conf_other_domain'], '.3f')}",
                f"{fmt(e['mean_conf_in_domain'], '.3f')}",
                pct(e["share_above_0.9"]),
                pct(e["share_above_0.99"]),
                f"{class_name(source, e['most_common_class'])} ({pct(e['most_common_share'])})",
            ]
        )
        numbers.update(
            {
                f"{key}/{k}": e[k]
                for k in ("acc", "mean_conf_other_domain", "share_above_0.9", "share_above_0.99")
            }
        )
        paragraphs.append(
            f"The {source} model on {target}: accuracy {fmt(e['acc'], '.4f')} "
            f"({'about chance' if abs(e['acc'] - 0.1) < 0.05 else 'far from chance'}, as expected when label "
            f"indices mean different things), yet {pct(e['share_above_0.9'])} of the images get a confidence above 0.9 "
            f"and {pct(e['share_above_0.99'])} above 0.99; {pct(e['most_common_share'])} are sent to class "
            f"'{class_name(source, e['most_common_class'])}'. Softmax confidence does not reveal that the input is of the wrong kind."
        )
    return Section(
        "cross",
        "Each model on the other data set",
        paragraphs,
        [table],
        _figures(document, folder),
        numbers,
    )


def section_morph(document: dict, folder: Path) -> Section:
    table = Table(["I1 (a=1)", "I2 (a=0)", "switches", "lowest top probability", "at a"], [])
    lows = []
    for p in document["pairs"]:
        switches = (
            ", ".join(f"{s['from']}->{s['to']} at {fmt(s['a'], '.3f')}" for s in p["switches"])
            or "none"
        )
        table.rows.append(
            [
                f"#{p['pair'][0]} ({p['labels'][0]})",
                f"#{p['pair'][1]} ({p['labels'][1]})",
                switches,
                f"{fmt(p['min_top_probability'], '.3f')}",
                f"{fmt(p['a_at_min'], '.2f')}",
            ]
        )
        lows.append(p["min_top_probability"])
    extra = [len(p["classes_visited"]) > 2 for p in document["pairs"]]
    text = (
        f"Along each of the {len(lows)} blends (100 values of a), the prediction switches between the two digits and "
        f"the top probability dips to between {fmt(min(lows), '.3f')} and {fmt(max(lows), '.3f')} near the switch, then recovers to "
        f"near 1 on both sides. The model is certain about images that are half one digit and half another for most "
        f"of the path"
        + (f"; {sum(extra)} blend(s) pass through a third class on the way" if any(extra) else "")
        + "."
    )
    numbers = {
        f"pair{n}/min_top_probability": p["min_top_probability"]
        for n, p in enumerate(document["pairs"], 1)
    }
    return Section(
        "morph",
        "Morphing one digit into another",
        [text],
        [table],
        _figures(document, folder),
        numbers,
    )


def section_dropout(document: dict, folder: Path) -> Section:
    opts = document["options"]
    table = Table(
        [
            "p",
            "original acc",
            "vote acc",
            "single member acc",
            "mean share right",
            "mean share wrong",
            "unanimous",
        ],
        [],
    )
    numbers = {}
    for r in document["rows"]:
        table.rows.append(
            [
                f"{fmt(r['p'], 'g')}",
                f"{fmt(r['original/acc'], '.4f')}",
                f"{fmt(r['vote/acc'], '.4f')}",
                f"{fmt(r['member/acc_mean'], '.4f')} ± {fmt(r['member/acc_std'], '.4f')}",
                f"{fmt(r['mean_conf_right'], '.3f')}",
                f"{fmt(r['mean_conf_wrong'], '.3f')}",
                pct(r["share_unanimous"]),
            ]
        )
        numbers.update(
            {
                f"p={fmt(r['p'], 'g')}/{k}": r[k]
                for k in (
                    "original/acc",
                    "vote/acc",
                    "member/acc_mean",
                    "mean_conf_right",
                    "mean_conf_wrong",
                )
            }
        )
    rows = document["rows"]
    best = max(rows, key=lambda r: r["vote/acc"])
    separation = max(
        rows,
        key=lambda r: np.nan_to_num(num(r["mean_conf_right"]) - num(r["mean_conf_wrong"]), nan=-1),
    )
    change = best["vote/acc"] - best["original/acc"]
    largest = rows[-1]
    paragraphs = [
        f"{opts['members']} perturbed copies of the trained {opts['dataset']} model per p "
        f"({'weights and biases' if opts['drop_biases'] else 'weights only; biases kept'}); the prediction is the "
        f"majority vote and the confidence the share of members voting for it.",
        f"Accuracy: the best vote ({fmt(best['vote/acc'], '.4f')} at p={fmt(best['p'], 'g')}) is "
        + (
            f"{fmt(100 * change, '.2f')} points above"
            if change > 0.0005
            else f"{fmt(100 * -change, '.2f')} points below"
            if change < -0.0005
            else "the same as"
        )
        + f" the original model ({fmt(best['original/acc'], '.4f')}); at p={fmt(largest['p'], 'g')} single members fall to "
        f"{fmt(largest['member/acc_mean'], '.4f')} while the vote keeps {fmt(largest['vote/acc'], '.4f')}.",
        f"Confidence: the vote share separates right from wrong answers best at p={fmt(separation['p'], 'g')}, where wrong "
        f"answers get a mean share of {fmt(separation['mean_conf_wrong'], '.3f')} against {fmt(separation['mean_conf_right'], '.3f')} "
        f"for right ones. With small p most votes are unanimous ({pct(rows[0]['share_unanimous'])} at "
        f"p={fmt(rows[0]['p'], 'g')}), so the share carries little information there. The scoreboard section "
        f"below measures whether it tells wrong answers apart better than plain softmax.",
    ]
    return Section(
        "dropout",
        "Post-training weight dropout",
        paragraphs,
        [table],
        _figures(document, folder),
        numbers,
    )


def _ci(row: dict, key: str) -> str:
    if key not in row or row[key] is None:
        return "n/a"
    ci = row.get(f"{key}_ci")
    text = fmt(100 * num(row[key]), ".1f")
    return f"{text} [{fmt(100 * ci[0], '.1f')}, {fmt(100 * ci[1], '.1f')}]" if ci else text


def section_scoreboard(document: dict, folder: Path) -> Section:
    opts = document["options"]
    paragraphs = [
        f"Every method gives a score where higher means less trust. Misclassification columns treat wrong answers as "
        f"positives (AUROC with a {opts['bootstrap']}-resample bootstrap 95% interval, AUPR with errors as positives, "
        f"FPR at 95% TPR, area under the risk-coverage curve); out-of-distribution columns give the AUROC of telling "
        f"{opts['ood_size']} images of each other set from the test set. Weight dropout and MC dropout use "
        f"{opts['members']} members; the deep ensemble {opts['ensemble_size']} independently seeded models; the "
        f"temperature is fitted on a validation split held out from training. All scores in %, except ECE, NLL, AURC.",
    ]
    tables, numbers = [], {}
    for dataset, entry in document["datasets"].items():
        rows = entry["rows"]
        ood = [k for k in rows[0] if k.startswith("ood/") and k.endswith("/auroc")]
        header = ["method", "acc", "NLL", "ECE", "AUROC err", "AUPR err", "FPR95 err", "AURC"]
        header += [f"OOD {k.split('/')[1]}" for k in ood]
        table = Table(header, [])
        for r in rows:
            table.rows.append(
                [
                    r["method"],
                    fmt(r["test/acc"], ".4f"),
                    fmt(r["test/nll"], ".4f"),
                    fmt(r["test/ece"], ".4f"),
                    _ci(r, "misclassification/auroc"),
                    fmt(100 * num(r.get("misclassification/aupr_error")), ".1f"),
                    fmt(100 * num(r.get("misclassification/fpr95")), ".1f"),
                    fmt(r["test/aurc"], ".4f"),
                ]
                + [fmt(100 * num(r[k]), ".1f") for k in ood]
            )
            for key in ("test/acc", "test/ece", "misclassification/auroc", "test/aurc", *ood):
                numbers[f"{dataset}/{r['method']}/{key}"] = r.get(key)
        tables.append(table)
        paragraphs.append(
            f"**{dataset}** (temperature T = {fmt(entry['temperature'], '.2f')}): "
            + "; ".join(line.split(": ", 1)[1] for line in entry["verdict"])
            + "."
        )
    section = Section(
        "scoreboard",
        "Which confidence signal tells right from wrong?",
        paragraphs,
        tables,
        _figures(document, folder),
        numbers,
    )
    return section


# ---------------------------------------------------------------- rendering
def _header_rows(meta: dict) -> list[tuple[str, str]]:
    env = meta["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    rows = [
        ("created", meta["created"]),
        ("mnistlab", meta["version"]),
        ("libraries", versions),
        (
            "machine",
            f"{env['cpu']} ({env['cpu_count']} cores); devices: {', '.join(env['devices'])}",
        ),
        (
            "model training (this run)",
            f"{meta['study_seconds'].get('training', 0.0):.1f} s for the models not yet cached",
        ),
        (
            "seed",
            str(meta["seed"]) + (" (quick mode: small subsets, 1 epoch)" if meta["quick"] else ""),
        ),
        (
            "study wall time",
            ", ".join(
                f"{k} {v:.1f} s" + (" (computed earlier, reused)" if meta["reused"][k] else "")
                for k, v in meta["study_seconds_when_computed"].items()
            ),
        ),
    ]
    for name, sums in meta["data_sha256"].items():
        rows.append(
            (f"{name} SHA-256", "; ".join(f"{stem}: {digest}" for stem, digest in sums.items()))
        )
    return rows


def render_markdown(sections: list[Section], meta: dict, figure_names: dict[Path, str]) -> str:
    lines = [
        "# mnistlab lab report",
        "",
        "When can a classifier's answer be trusted? A reproduction of the "
        "classic exercise on MNIST and Fashion-MNIST.",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in _header_rows(meta)]
    for s in sections:
        lines += ["", f"## {s.title}", ""]
        for paragraph in s.paragraphs:
            lines += [paragraph, ""]
        for t in s.tables:
            lines += ["| " + " | ".join(t.header) + " |", "|" + "---|" * len(t.header)]
            lines += ["| " + " | ".join(row) + " |" for row in t.rows]
            lines.append("")
        for f in s.figures:
            lines += [f"![{f.caption}](figures/{figure_names[f.path]})", "", f"*{f.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _inline(text: str) -> str:
    """Escape, then turn **bold** into <strong> (the only markup the paragraphs use)."""
    parts = html.escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222;
       line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } table.meta td:first-child { font-weight: 600; white-space: nowrap; }
table.meta td { font-size: 0.85em; word-break: break-all; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
"""


def render_html(sections: list[Section], meta: dict) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>mnistlab lab report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>mnistlab lab report</h1>",
        "<p>When can a classifier's answer be trusted? A reproduction of the classic exercise on MNIST and "
        "Fashion-MNIST.</p>",
        '<table class="meta">',
    ]
    out += [
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
        for k, v in _header_rows(meta)
    ]
    out.append("</table>")
    for s in sections:
        out.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>')
        out += [f"<p>{_inline(p)}</p>" for p in s.paragraphs]
        for t in s.tables:
            out.append(
                "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in t.header) + "</tr>"
            )
            out += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in t.rows
            ]
            out.append("</table>")
        for f in s.figures:
            data = base64.b64encode(f.path.read_bytes()).decode("ascii")
            out.append(
                f'<figure><img alt="{html.escape(f.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(f.caption)}</figcaption></figure>"
            )
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the command
def study_runners(ctx: StudyContext):
    """(name, function) for each study, in the order of the exercise."""
    from mnistlab.experiments import confidence, cross, dropout, morph, scoreboard, variants

    return [
        (
            "variants",
            lambda: variants.run(ctx, grid=variants.default_grid(list(variants.DEFAULT_GRID))),
        ),
        ("confidence", lambda: confidence.run(ctx)),
        ("cross", lambda: cross.run(ctx)),
        ("morph", lambda: morph.run(ctx)),
        ("dropout", lambda: dropout.run(ctx)),
        ("scoreboard", lambda: scoreboard.run(ctx)),
    ]


def train_all_models(ctx: StudyContext) -> None:
    """Every model the studies need, in one parallel call (a cold run keeps both cores busy to the
    end); the studies then find them in the cache."""
    from mnistlab.experiments import scoreboard, variants
    from mnistlab.experiments.common import get_models, tutorial_spec
    from mnistlab.training import is_cached

    specs = [
        tutorial_spec(ctx, v.dataset, **v.changes)
        for v in variants.default_grid(list(variants.DEFAULT_GRID))
    ]
    for dataset in ("mnist", "fashion-mnist"):
        specs += scoreboard.model_specs(
            ctx,
            dataset,
            scoreboard.DEFAULTS["ensemble_size"]
            if not ctx.quick
            else scoreboard.QUICK["ensemble_size"],
        )
    missing = (
        specs
        if ctx.retrain
        else [spec for spec in specs if not is_cached(spec, cache_dir=ctx.cache_dir)]
    )
    if missing:
        progress.say(f"report: training {len(missing)} models ...")
        get_models(ctx, missing)


def build_sections(documents: dict, out: Path) -> list[Section]:
    folder = lambda name: out / name  # noqa: E731
    return [
        section_tutorial("fashion-mnist", documents["confidence"], documents["variants"]),
        section_tutorial("mnist", documents["confidence"], documents["variants"]),
        section_variants(documents["variants"], folder("variants")),
        section_confidence(documents["confidence"], folder("confidence")),
        section_cross(documents["cross"], folder("cross")),
        section_morph(documents["morph"], folder("morph")),
        section_dropout(documents["dropout"], folder("dropout")),
        section_scoreboard(documents["scoreboard"], folder("scoreboard")),
    ]


def run(ctx: StudyContext) -> dict:
    """Run or reuse every study, then write the report into OUT/report/."""
    start = time.perf_counter()
    documents, seconds = {}, {}
    t0 = time.perf_counter()
    train_all_models(ctx)
    seconds["training"] = time.perf_counter() - t0
    # The models are fresh now: --retrain must not train them again in every study, only
    # stop the studies from reusing their saved results.
    ctx = replace(ctx, retrain=False, reuse=ctx.reuse and not ctx.retrain)
    for name, runner in study_runners(ctx):
        progress.say(f"report: {name} ...")
        t0 = time.perf_counter()
        documents[name] = runner()
        seconds[name] = time.perf_counter() - t0
    out = Path(ctx.out)
    report_dir = out / "report"
    sections = build_sections(documents, out)
    figure_names = {}
    for s in sections:
        for f in s.figures:
            figure_names[f.path] = f"{f.path.parent.name}-{f.path.name}"
            target = report_dir / "figures" / figure_names[f.path]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.path, target)
    meta = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "version": __version__,
        "seed": ctx.seed,
        "quick": ctx.quick,
        "environment": environment(),
        "study_seconds": seconds,
        "study_seconds_when_computed": {k: d["seconds"] for k, d in documents.items()},
        "reused": {k: bool(d.get("reused")) for k, d in documents.items()},
        "data_sha256": {name: file_checksums(name) for name in ("mnist", "fashion-mnist")},
    }
    shown = {
        s.key: {
            "title": s.title,
            "numbers": s.numbers,
            "text": s.paragraphs,
            "tables": [{"header": t.header, "rows": t.rows} for t in s.tables],
        }
        for s in sections
    }
    results = {
        **meta,
        "sections": shown,
        "studies": {
            k: {kk: vv for kk, vv in d.items() if kk != "environment"} for k, d in documents.items()
        },
    }
    write_json(report_dir / "results.json", results)
    write_text(report_dir / "report.md", render_markdown(sections, meta, figure_names))
    write_text(
        report_dir / "index.html", render_html(sections, meta)
    )  # last: its presence means complete
    return {
        "folder": report_dir,
        "seconds": time.perf_counter() - start,
        "meta": meta,
        "sections": sections,
    }
