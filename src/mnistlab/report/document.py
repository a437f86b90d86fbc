"""The report's document model: a Section holds paragraphs, tables and figures, in order.

Studies build Sections from their own results; the renderers (render.py) turn them into HTML
and Markdown, so both always show the same text and numbers. `numbers` holds the values a
section shows, for the report's results.json. This module knows no study.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

FOLD_ROWS = 10  # a marked table longer than this shows its key rows and folds the others
LEADING_NUMBER = re.compile(r"^[-+]?\d[\d,]*\.?\d*")


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    # Which way is better in a column, by header text: "high" or "low". The renderers mark
    # each such column's best mean (ties: all of them); other columns are not ranked.
    better: dict[str, str] = field(default_factory=dict)

    def best_cells(self) -> set[tuple[int, int]]:
        """(row, column) of every cell holding its column's best value, as shown (a cell's
        leading number: the mean of 'mean ± std', the first of 'kept / error')."""
        marked = set()
        for column, name in enumerate(self.header):
            direction = self.better.get(name)
            if direction is None:
                continue
            values = {}
            for row, cells in enumerate(self.rows):
                if match := LEADING_NUMBER.match(cells[column].strip()):
                    values[row] = float(match.group().replace(",", ""))
            if len(values) > 1:
                best = (max if direction == "high" else min)(values.values())
                marked |= {(row, column) for row, value in values.items() if value == best}
        return marked

    def key_rows(self, marked: set | None = None) -> list[int] | None:
        """The rows shown when a long marked table folds: the first (the reference method) and
        every row holding a best value (marked: best_cells(), if computed); None when the
        table is shown whole."""
        marked = self.best_cells() if marked is None else marked
        if len(self.rows) <= FOLD_ROWS or not marked:
            return None
        keep = {0} | {row for row, _ in marked}
        return sorted(keep) if len(keep) < len(self.rows) else None


def better_by_words(header: list[str], words: dict[str, str]) -> dict[str, str]:
    """Table.better for every column whose header contains one of the words: {"ECE": "low"}
    marks 'ECE 0°', 'ECE 60°' ... low."""
    return {h: d for h in header for w, d in words.items() if w in h}


@dataclass
class Figure:
    path: Path  # a PNG file
    caption: str


@dataclass
class Section:
    key: str  # stable id: the HTML anchor and the key in results.json
    title: str
    paragraphs: list[str] = field(default_factory=list)  # **bold** is the only markup
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    # The study's answer in one line, from its own numbers: the report opens with these
    # (**bold** allowed). A study with several sections gives it on the first.
    finding: str = ""

    def shown(self) -> dict:
        """What results.json records of this section: every number and text shown."""
        return {
            "title": self.title,
            "finding": self.finding,
            "numbers": self.numbers,
            "text": self.paragraphs,
            "tables": [
                {"header": t.header, "rows": t.rows, "better": t.better} for t in self.tables
            ],
        }


def figures_of(results: dict, folder: Path) -> list[Figure]:
    """The figures a study saved (results['figures']: file name -> caption), as Figures."""
    return [Figure(Path(folder) / name, caption) for name, caption in results["figures"].items()]


# ---------------------------------------------------------------- number formatting
def num(x) -> float:
    """A number from results.json, where NaN was stored as null."""
    return float("nan") if x is None else float(x)


def fmt(x, spec: str = ".4f") -> str:
    x = num(x)
    return "n/a" if math.isnan(x) else format(x, spec)


def pct(x) -> str:
    x = num(x)
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def seed_mean(entry: dict, key: str, spec: str = ".4f", *, scale: float = 1.0) -> str:
    """entry[key] as 'mean ± std' when it was measured over several seeds (replicates.py),
    else as the single value; scale=100 shows fractions as percentages."""
    value = scale * num(entry.get(key))
    values = entry.get(f"{key}_seeds") or []
    if len(values) > 1:
        return f"{fmt(value, spec)} ± {fmt(scale * num(entry.get(f'{key}_std')), spec)}"
    return fmt(value, spec)


def first_seed(entry: dict, key: str, spec: str = ".4f") -> str:
    """The first seed's value of a number over seeds: the exercise's single run."""
    values = entry.get(f"{key}_seeds")
    return fmt(values[0] if values else entry.get(key), spec)


def seed_mean_first(entry: dict, key: str, spec: str = ".4f", *, scale: float = 1.0) -> str:
    """seed_mean, plus the first seed's own value when there are several: the exercise's
    single-run number stays visible next to the mean."""
    text = seed_mean(entry, key, spec, scale=scale)
    values = entry.get(f"{key}_seeds") or []
    if len(values) > 1:
        text += f" (first seed {fmt(scale * num(values[0]), spec)})"
    return text
