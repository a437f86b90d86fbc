"""HTML and Markdown from a list of Sections plus the run's metadata. Knows no study.

The HTML is one self-contained file (figures embedded as base64 PNG); the Markdown links
figures in a figures/ folder beside it.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from mnistlab.config import ModelConfig
from mnistlab.report.cost import cost_row
from mnistlab.report.document import Section, Table

BEST_NOTE = (
    "Bold: the best mean in its column (a ranking, not a test: the paired intervals decide)."
)


def markdown_text(text: str) -> str:
    """Text as written in Markdown: what would start an HTML tag is escaped (a name in a table
    or a sentence passed raw HTML into report.md)."""
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _markdown_cell(text: str) -> str:
    """A cell's text that cannot add a column or a row."""
    return markdown_text(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    best = table.best_cells()
    header = [_markdown_cell(h) for h in table.header]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(table.header)]
    lines += [
        "| "
        + " | ".join(
            f"**{_markdown_cell(c)}**" if (r, k) in best else _markdown_cell(c)
            for k, c in enumerate(row)
        )
        + " |"
        for r, row in enumerate(table.rows)
    ]
    return "\n".join(lines) + (f"\n\n*{BEST_NOTE}*" if best else "")


# A number, optionally "± spread", "[low, high]", "(...)" or "%" after it: right-aligned, one line.
NUMERIC = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|n/a)(%| s)?( ?± ?[-+]?\d[\d.]*%?)?( ?[\[(].*[\])])?$")


def html_cell(text: str, *, best: bool = False, name: bool = False) -> str:
    """One table cell: numbers right-aligned on one line, the "± std" part smaller, so a
    "mean ± std" cell stays one line and the mean reads first. best: its column's best;
    name: the row's name (first column), which wraps at a readable width, not one word per
    line."""
    parts = text.split(" / ")  # "kept / error" cells: two numbers
    if not all(NUMERIC.match(part.strip()) for part in parts):
        wide = ' class="name"' if name and len(text) > 12 else ""
        return f"<td{wide}>{html.escape(text)}</td>"
    marked = " best" if best else ""
    return f'<td class="num{marked}">{" / ".join(_number(part) for part in parts)}</td>'


def _number(text: str) -> str:
    mean, _, spread = text.partition(" ± ")
    return html.escape(mean) + (f"<small> ± {html.escape(spread)}</small>" if spread else "")


def _html_rows(table: Table, rows: list[int], best: set) -> str:
    """The table's header and the given rows, in a horizontally scrolling box: a wide table
    never widens the page."""
    out = [
        '<div class="table-box"><table><tr>'
        + "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
        + "</tr>"
    ]
    out += [
        "<tr>"
        + "".join(
            html_cell(c, best=(r, k) in best, name=k == 0) for k, c in enumerate(table.rows[r])
        )
        + "</tr>"
        for r in rows
    ]
    out.append("</table></div>")
    return "\n".join(out)


def html_table(table: Table) -> str:
    """A table with its columns' best values marked; a long one shows its key rows (the
    reference and the best) and folds the whole table behind a <details>."""
    everything, best = list(range(len(table.rows))), table.best_cells()
    key_rows = table.key_rows(best)
    if key_rows is None:
        out = _html_rows(table, everything, best)
    else:
        out = (
            _html_rows(table, key_rows, best)
            + f"\n<details><summary>All {len(table.rows)} rows</summary>\n"
            + _html_rows(table, everything, best)
            + "\n</details>"
        )
    if best:
        out += f'\n<p class="table-note">{html.escape(BEST_NOTE)}</p>'
    return out


def html_section(s: Section) -> str:
    """One section as HTML, figures embedded (the report's body, and a study's notebook view);
    every section and figure has an anchor."""
    out = [f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>']
    out += [f"<p>{_inline(p)}</p>" for p in s.paragraphs]
    out += [html_table(t) for t in s.tables]
    for n, f in enumerate(s.figures, 1):
        data = base64.b64encode(Path(f.path).read_bytes()).decode("ascii")
        out.append(
            f'<figure id="{s.key}-figure-{n}">'
            f'<img alt="{html.escape(f.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(f.caption)}</figcaption></figure>"
        )
    out.append("</section>")
    return "\n".join(out)


def _header_rows(meta: dict) -> list[tuple[str, str]]:
    env = meta["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    rows = [
        ("created", meta["created"]),
        ("mnistlab", meta["version"]),
        ("libraries", versions),
        (
            "machine",
            f"{env['cpu']} ({env['cpu_count']} cores); devices: "
            + (", ".join(env["devices"]) or "none used in this run (every result reused)"),
        ),
        (
            "network",
            ModelConfig(arch=meta.get("arch", "mlp")).network()
            + " (every study's models; --arch chooses)",
        ),
        (
            "model training (this run)",
            f"{meta['study_seconds'].get('training', 0.0):.1f} s for the models not yet cached",
        ),
        (
            "seeds",
            ", ".join(map(str, meta.get("seeds", [meta["seed"]])))
            + " (every number over these trained models; the first is the exercise's single run)"
            + (" (quick mode: small subsets, 1 epoch)" if meta["quick"] else ""),
        ),
        ("cost", cost_row(meta)) if "cost" in meta else ("cost", "not measured"),
        (
            "reused",
            ", ".join(k for k, reused in meta["reused"].items() if reused) or "none",
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
        "classic exercise on MNIST and Fashion-MNIST. " + EXPLORER[meta.get("explorer", False)],
    ]
    lines += ["", "## Findings", ""]
    lines += [
        f"- [{s.title}](#{_slug(s.title)}): {markdown_text(s.finding)}"
        for s in sections
        if s.finding
    ]
    lines += ["", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in _header_rows(meta)]
    for s in sections:
        lines += ["", f"## {s.title}", ""]
        for paragraph in s.paragraphs:
            lines += [markdown_text(paragraph), ""]
        for t in s.tables:
            lines += [markdown_table(t), ""]
        for f in s.figures:
            lines += [f"![{f.caption}](figures/{figure_names[f.path]})", "", f"*{f.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _slug(title: str) -> str:
    """The anchor GitHub and most Markdown viewers give a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def findings_html(sections: list[Section]) -> str:
    """The report's opening: each study's answer in one line, linked to its section."""
    items = "".join(
        f'<li><a href="#{s.key}">{html.escape(s.title)}</a>: {_inline(s.finding)}</li>'
        for s in sections
        if s.finding
    )
    return f'<div class="findings" id="findings"><h2>Findings</h2><ul>{items}</ul></div>'


def _inline(text: str) -> str:
    """Escape, then turn **bold** into <strong> (the only markup the paragraphs use)."""
    parts = html.escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222;
       line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.table-box { overflow-x: auto; max-width: 100%; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num small { color: #777; font-size: 0.8em; }
td.best { font-weight: 700; background: #eaf4ea; } td.name { min-width: 11em; }
.table-note { font-size: 0.85em; color: #555; margin-top: -0.6em; }
details { margin: -0.4em 0 1em; } summary { cursor: pointer; color: #2a5d8a; }
th { background: #f3f3f3; } table.meta td:first-child { font-weight: 600; white-space: nowrap; }
table.meta td { font-size: 0.85em; overflow-wrap: anywhere; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.findings h2 { margin-top: 1em; } .findings li { margin: 0.35em 0; }
nav.toc { font-size: 0.9em; border: 1px solid #ddd; padding: 0.5em 1em; margin: 1em 0; }
nav.toc ol { margin: 0.3em 0; padding-left: 1.4em; columns: 2; }
@media (min-width: 1500px) {  /* wide screens: the contents beside the report, always in view */
  nav.toc { position: fixed; top: 1em; left: 1em; width: 15em; max-height: 90vh; overflow-y: auto;
            margin: 0; }
  nav.toc ol { columns: 1; }
}
"""


def toc_html(sections: list[Section]) -> str:
    """The table of contents: one link per section (figures are anchored as section-figure-N)."""
    items = "".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in sections)
    return f'<nav class="toc"><strong>Contents</strong><ol>{items}</ol></nav>'


EXPLORE_LINK = "[the trust explorer](../explore/index.html)"
EXPLORE_A = '<a href="../explore/index.html">the trust explorer</a>'
EXPLORER = {  # whether `mnistlab explore` wrote its page beside the report
    True: f"Draw a digit and watch every method answer: {EXPLORE_LINK}.",
    False: "`mnistlab explore` writes a page where you draw a digit and watch every method answer.",
}


def _explorer_html(meta: dict) -> str:
    text = html.escape(EXPLORER[meta.get("explorer", False)]).replace(EXPLORE_LINK, EXPLORE_A)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def render_html(sections: list[Section], meta: dict) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>mnistlab lab report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>mnistlab lab report</h1>",
        "<p>When can a classifier's answer be trusted? A reproduction of the classic exercise on MNIST and "
        f"Fashion-MNIST. {_explorer_html(meta)}</p>",
        '<table class="meta">',
    ]
    out += [
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
        for k, v in _header_rows(meta)
    ]
    out.append("</table>")
    out.insert(out.index('<table class="meta">'), toc_html(sections))
    out.insert(out.index(toc_html(sections)), findings_html(sections))
    out += [html_section(s) for s in sections]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
