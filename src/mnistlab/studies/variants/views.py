"""What the variants study shows: its table (the report's and table.md), the verdict per data
set, its report section and table.csv."""

from __future__ import annotations

from mnistlab.report.document import Section, Table, figures_of, fmt, seed_mean


def difference_text(row: dict) -> str:
    """'+0.12 [-0.20, +0.45] pts' (test accuracy, variant minus tutorial), or '' for the tutorial."""
    if "vs_tutorial" not in row:  # a grid without the tutorial model on this data set
        return "n/a"
    d = row["vs_tutorial"]
    if d is None:
        return "(reference)"
    return (
        f"{100 * d['difference']:+.2f} [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}] "
        f"{'' if d['verdict'] == 'no clear difference' else d['verdict']}"
    ).strip()


def table(rows: list[dict], seeds: int) -> Table:
    """The variants table: the study's table.md and its report section show this one table."""
    first = rows[0]["seeds"][0] if rows else 0
    header = ["data set", "variant", "train acc", "test acc"]
    header += [f"test acc, seed {first}"] if seeds > 1 else []
    header += ["test acc − tutorial, points [95%]", "s/epoch"]
    return Table(
        header,
        [
            [
                r["dataset"],
                r["variant"],
                seed_mean(r, "train/acc"),
                seed_mean(r, "test/acc"),
            ]
            + ([fmt(r["test/acc_seeds"][0], ".4f")] if seeds > 1 else [])
            + [difference_text(r), fmt(r["seconds_per_epoch"], ".2f")]
            for r in rows
        ],
    )


def dataset_verdict(dataset: str, subset: list[dict], seeds: int) -> str:
    """What the table says about one data set, from the paired intervals."""
    best = max(subset, key=lambda r: r["test/acc"])
    compared = [r for r in subset if r.get("vs_tutorial")]
    better = [r["variant"] for r in compared if r["vs_tutorial"]["verdict"] == "better"]
    worse = [r["variant"] for r in compared if r["vs_tutorial"]["verdict"] == "worse"]
    unclear = [
        r["variant"] for r in compared if r["vs_tutorial"]["verdict"] == "no clear difference"
    ]
    text = (
        f"On {dataset}, the highest mean test accuracy is {fmt(best['test/acc'], '.4f')} ({best['variant']})"
        + (f" over {seeds} seeds" if seeds > 1 else "")
        + "."
    )
    if compared:
        text += (
            f" Against the tutorial model (paired: same seeds, same test images resampled; 95% interval of "
            f"the difference in test accuracy): better: {', '.join(better) or 'none'}; worse: "
            f"{', '.join(worse) or 'none'}; no clear difference (the interval includes zero): "
            f"{', '.join(unclear) or 'none'}."
        )
        if seeds == 1:
            text += (
                " With one seed the interval holds only test-set noise, not training noise; run with "
                "--seeds N (the report uses 3)."
            )
    return text


def sections(results: dict, folder) -> list[Section]:
    rows = results["rows"]
    seeds = len(rows[0]["seeds"]) if rows else 1
    paragraphs = [
        dataset_verdict(dataset, [r for r in rows if r["dataset"] == dataset], seeds)
        for dataset in dict.fromkeys(r["dataset"] for r in rows)
    ]
    numbers = {
        f"{r['dataset']}/{r['variant']}/{k}": r[k]
        for r in rows
        for k in ("train/acc", "test/acc", "train/acc_std", "test/acc_std")
    }
    for r in rows:
        if r.get("vs_tutorial"):
            d = r["vs_tutorial"]
            numbers[f"{r['dataset']}/{r['variant']}/test/acc_vs_tutorial"] = [
                d["difference"],
                d["low"],
                d["high"],
            ]
    return [
        Section(
            "variants",
            "Network variants",
            paragraphs,
            [table(rows, seeds)],
            figures_of(results, folder),
            numbers,
            finding="; ".join(
                _finding(dataset, [r for r in rows if r["dataset"] == dataset])
                for dataset in dict.fromkeys(r["dataset"] for r in rows)
            ),
        )
    ]


def _finding(dataset: str, subset: list[dict]) -> str:
    """One data set's answer: which variants beat the tutorial model, by the paired interval."""
    verdicts = {r["variant"]: (r.get("vs_tutorial") or {}).get("verdict") for r in subset}
    reference = next((r for r in subset if r.get("vs_tutorial", 0) is None), None)
    if reference is None:  # a grid without the tutorial model: the best one
        best = max(subset, key=lambda r: r["test/acc"])
        return f"{dataset}: best {best['variant']}, test accuracy {seed_mean(best, 'test/acc')}"
    better = [v for v, verdict in verdicts.items() if verdict == "better"]
    worse = [v for v, verdict in verdicts.items() if verdict == "worse"]
    text = f"{dataset}: " + (
        f"**{', '.join(better)}** beat{'s' if len(better) == 1 else ''}"
        if better
        else "**no variant beats**"
    )
    text += f" the tutorial model's {seed_mean(reference, 'test/acc')} (paired 95% intervals)"
    verb = "is" if len(worse) == 1 else "are"
    return text + (f"; {len(worse)} of {len(subset) - 1} {verb} worse" if worse else "")


def spreadsheet_text(text: str) -> str:
    """A text cell a spreadsheet shows as text: one starting with = + - @ (or a tab or
    carriage return) would be read as a formula (OWASP's CSV injection), so it gets a quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_table(rows) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "dataset",
            "variant",
            "description",
            "seeds",
            "train_acc",
            "train_acc_std",
            "test_acc",
            "test_acc_std",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r["dataset"],
                spreadsheet_text(r["variant"]),
                spreadsheet_text(r["describe"]),
                len(r["seeds"]),
                f"{r['train/acc']:.6f}",
                f"{r['train/acc_std']:.6f}",
                f"{r['test/acc']:.6f}",
                f"{r['test/acc_std']:.6f}",
            ]
        )
    return buffer.getvalue()
