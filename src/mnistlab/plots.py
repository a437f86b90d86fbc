"""Figures drawn from arrays. Each function takes an optional `ax`, returns it, and never saves."""

from __future__ import annotations

import os
from functools import cache

import numpy as np

RIGHT, WRONG, OTHER = "#2a7ab0", "#d1495b", "#edae49"


@cache
def pyplot():
    """matplotlib.pyplot, imported on the first figure (an import that a command which
    draws nothing does not pay for), with the Agg backend unless MPLBACKEND chose one."""
    import matplotlib

    if not os.environ.get("MPLBACKEND"):  # Jupyter sets its inline backend there: keep it
        matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def plain(text) -> str:
    """Text as written: a '$' in a user-given name (a grid's variant, a plugin's method) is
    not a matplotlib math formula; '$^$' made the math parser fail after training."""
    return str(text).replace("$", r"\$")


def new_axes(ncols: int = 1, nrows: int = 1, *, width: float = 5.0, height: float = 3.6, **kwargs):
    kwargs.setdefault("layout", "constrained")  # titles and labels never overlap
    fig, axes = pyplot().subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs
    )
    return fig, axes


# The report's text column (render.py's CSS: 1100 px less padding) in inches at the dpi the
# figures are saved with (runs.save_figure), less a margin for legends beside the axes: a
# wider figure is shrunk to fit the page, and its text with it (5 px labels, issue 25).
COLUMN_INCHES = 9.4


def panel_grid(count: int, *, width: float, height: float, **kwargs):
    """`count` panels of width x height inches, in as many rows as it takes for the figure to
    fit the report's column, so it is shown at its saved size. Returns the figure and the
    `count` axes in reading order; the grid's unused cells are removed."""
    columns = max(1, min(count, int(COLUMN_INCHES // width)))
    fig, grid = new_axes(columns, -(-count // columns), width=width, height=height, **kwargs)
    axes = list(grid.ravel())
    for ax in axes[count:]:
        ax.remove()
    return fig, axes[:count]


def spanning_bins(values, count: int) -> np.ndarray:
    """count equal bins over the middle 99% of values (a score on its own scale)."""
    low, high = np.quantile(values, [0.005, 0.995])
    return np.linspace(low, high if high > low else low + 1.0, count + 1)


def filled_histogram(ax, values, bins, *, density: bool, alpha: float, color, label: str):
    """ax.hist's picture as one filled outline (ax.stairs), faster to draw than a patch per
    bar. Legend: "label (n=count)"."""
    heights, edges = np.histogram(values, bins=bins, density=density)
    label = f"{label} (n={len(values)})"
    ax.stairs(heights, edges, fill=True, alpha=alpha, color=color, label=label)


def confidence_histogram(
    right,
    wrong,
    *,
    bins,
    density=False,
    ax=None,
    title="",
    xlabel="confidence of the predicted class",
    labels=("right", "wrong"),
):
    """Right and wrong answers on the same bins: counts or densities."""
    ax = ax or pyplot().gca()
    for values, color, label in zip((right, wrong), (RIGHT, WRONG), labels, strict=True):
        if len(values):
            filled_histogram(
                ax, values, bins, density=density, alpha=0.65, color=color, label=label
            )
        else:  # nothing to draw (e.g. no wrong answers), but keep the group in the legend
            ax.bar([], [], color=color, alpha=0.65, label=f"{label} (n=0)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "count")
    if not density:
        ax.set_yscale("log")
    ax.set_title(plain(title))
    ax.legend(loc="upper left")
    return ax


def two_histograms(
    first, second, *, bins, labels, colors=(RIGHT, OTHER), ax=None, title="", xlabel=""
):
    ax = ax or pyplot().gca()
    for values, label, color in zip((first, second), labels, colors, strict=True):
        filled_histogram(ax, values, bins, density=True, alpha=0.6, color=color, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(plain(title))
    ax.legend(loc="upper left")
    return ax


def grouped_bars(
    names,
    series: dict,
    *,
    errors: dict | None = None,
    ax=None,
    title="",
    ylabel="",
    ylim=None,
    bar_labels: bool = True,
):
    """One group of bars per name; `series` maps a legend label to one value per name.
    bar_labels: print each bar's value on it (off when the bars are too narrow to hold it)."""
    ax = ax or pyplot().gca()
    x = np.arange(len(names))
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        err = errors.get(label) if errors else None
        offset = (i - (len(series) - 1) / 2) * width
        bars = ax.bar(x + offset, values, width, yerr=err, capsize=3, label=plain(label))
        if bar_labels:
            ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(x, [plain(n) for n in names], rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(plain(title))
    # Beside the axes, not on them: inside, it covered the last group's bars.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def class_bars(counts, class_names, *, ax=None, title="", ylabel="share of images"):
    ax = ax or pyplot().gca()
    counts = np.asarray(counts, dtype=float)
    ax.bar(np.arange(len(counts)), counts / max(counts.sum(), 1), color=OTHER)
    ax.set_xticks(np.arange(len(counts)), class_names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(plain(title))
    return ax


def image_strip(images, captions, *, ax=None, title=""):
    """Images side by side in one axes, each with a caption underneath."""
    ax = ax or pyplot().gca()
    images = np.asarray(images)
    gap = 2
    strip = np.ones((images.shape[1], len(images) * (images.shape[2] + gap) - gap))
    for i, image in enumerate(images):
        left = i * (images.shape[2] + gap)
        strip[:, left : left + images.shape[2]] = 1.0 - image  # dark strokes on white
    ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks(
        [(i + 0.5) * (images.shape[2] + gap) - gap / 2 for i in range(len(images))],
        captions,
        fontsize=8,
    )
    ax.set_yticks([])
    ax.set_title(plain(title))
    return ax


def class_probability_curves(
    alphas, probabilities, class_names, *, ax=None, title="", highlight=()
):
    ax = ax or pyplot().gca()
    for k, name in enumerate(class_names):
        strong = k in highlight
        ax.plot(
            alphas,
            probabilities[:, k],
            lw=2.2 if strong else 0.9,
            alpha=1.0 if strong else 0.55,
            label=name,
        )
    ax.set_xlabel("a  (image = a*I1 + (1-a)*I2)")
    ax.set_ylabel("probability")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(plain(title))
    ax.legend(fontsize=7, ncol=2, loc="center right")
    return ax


def predicted_class_steps(alphas, predicted, top_probability, *, ax=None, title=""):
    ax = ax or pyplot().gca()
    ax.step(alphas, predicted, where="mid", color="black", label="predicted class")
    ax.set_yticks(range(10))
    ax.set_ylabel("predicted class")
    ax.set_xlabel("a")
    twin = ax.twinx()
    twin.plot(alphas, top_probability, color=WRONG, label="its probability")
    twin.set_ylim(0, 1.02)
    twin.set_ylabel("probability of the predicted class", color=WRONG)
    ax.set_title(plain(title))
    return ax


def reliability_diagram(curve: dict, *, ax=None, title=""):
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    ax = ax or pyplot().gca()
    edges = curve["edges"]
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    filled = curve["count"] > 0
    ax.bar(
        centers[filled],
        curve["accuracy"][filled],
        width=width[filled],
        color=RIGHT,
        edgecolor="white",
        label="accuracy",
    )
    ax.bar(
        centers[filled],
        curve["confidence"][filled] - curve["accuracy"][filled],
        bottom=curve["accuracy"][filled],
        width=width[filled],
        color=WRONG,
        alpha=0.35,
        label="gap to confidence",
    )
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(plain(title), fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    return ax


def risk_coverage(coverage, risk, *, label, ax=None):
    ax = ax or pyplot().gca()
    ax.step(coverage, risk, where="post", label=plain(label))
    ax.set_xlabel("coverage (share of answers kept)")
    ax.set_ylabel("risk (error rate among kept)")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=7)
    return ax


def metric_lines(levels, series: dict, *, ax=None, title="", xlabel="", ylabel="", legend=True):
    """One line per method over the shift levels; `series` maps a label to (mean, std) arrays,
    the std drawn as a band (seed-to-seed spread)."""
    ax = ax or pyplot().gca()
    for label, (mean, std) in series.items():
        mean, std = np.asarray(mean, float), np.asarray(std, float)
        style = "--" if label.startswith("weight dropout") else "-"
        (line,) = ax.plot(levels, mean, style, marker=".", label=plain(label), lw=1.3)
        low, high = mean - std, mean + std
        if np.all((mean >= 0) & (mean <= 1)):  # a share or a rate: the band stays in [0, 1]
            low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
        ax.fill_between(levels, low, high, color=line.get_color(), alpha=0.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(plain(title), fontsize=10)
    if legend:
        ax.legend(fontsize=6.5)
    return ax


def method_boxes(values: dict, *, clean: dict | None = None, ax=None, title="", ylabel=""):
    """One box per method over a set of values (e.g. its metric on each corruption), the
    clean value as a red diamond."""
    ax = ax or pyplot().gca()
    labels = list(values)
    ax.boxplot([values[k] for k in labels], tick_labels=[plain(k) for k in labels], widths=0.6)
    if clean:
        ax.plot(
            range(1, len(labels) + 1),
            [clean[k] for k in labels],
            "D",
            color=WRONG,
            ms=5,
            label="clean",
        )
        ax.legend(fontsize=7)
    ax.tick_params(axis="x", labelrotation=35, labelsize=7)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    ax.set_ylabel(ylabel)
    ax.set_title(plain(title), fontsize=10)
    return ax
