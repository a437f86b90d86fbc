"""Figures true to their numbers: bands that stay where the quantity can be, legends that cover
no data."""

import numpy as np
import pytest

from mnistlab import legibility, plots


def test_the_band_of_a_share_stays_between_0_and_1():
    """The abstention figure's band went below 0 (a share kept of 0.01 ± 0.05)."""
    fig, axes = plots.new_axes(1, 1)
    ax = plots.metric_lines([0, 1, 2], {"m": ([0.01, 0.5, 0.99], [0.05, 0.1, 0.05])}, ax=axes[0, 0])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() >= 0 and band.max() <= 1
    fig, axes = plots.new_axes(1, 1)  # a difference may be negative: its band is not clipped
    ax = plots.metric_lines([0, 1], {"d": ([-0.5, 0.2], [0.1, 0.1])}, ax=axes[0, 0])
    assert ax.collections[0].get_paths()[0].vertices[:, 1].min() < -0.5


def test_the_bar_legend_sits_beside_the_bars():
    """The variants legend covered the last bar; it now sits outside the axes."""
    fig, axes = plots.new_axes(1, 1)
    ax = plots.grouped_bars(["a", "b"], {"train": [0.9, 0.8], "test": [0.85, 0.7]}, ax=axes[0, 0])
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1 - 1
    assert np.isfinite(legend.width)


def test_panels_wrap_into_rows_that_fit_the_report_column():
    """Six panels in one row were shown at 5 px text; now they wrap to the column's width."""
    fig, axes = plots.panel_grid(6, width=3.1, height=3.0)
    assert len(axes) == 6 and len(fig.axes) == 6  # the grid's spare cell is removed
    assert fig.get_figwidth() <= plots.COLUMN_INCHES < 3.1 * 6
    fig, axes = plots.panel_grid(
        2, width=3.1, height=3.0
    )  # few panels: one row, as wide as they are
    assert fig.get_figwidth() == 6.2 and len(axes) == 2


def test_overlapping_titles_are_found():
    fig, axes = plots.new_axes(2, 1, width=2.0, height=2.0)
    axes[0, 0].set_title("a title far longer than the panel it belongs to")
    axes[0, 1].set_title("its neighbour")
    assert legibility.overlapping_titles(fig) == [
        ("a title far longer than the panel it belongs to", "its neighbour")
    ]
    axes[0, 0].set_title("short")
    assert legibility.overlapping_titles(fig) == []
    assert legibility.smallest_text_points(fig) == 10.0  # ticks and titles at matplotlib's default


def _histograms():
    fig, axes = plots.new_axes(2, 2)
    rng = np.random.default_rng(0)
    for ax in axes.ravel():
        plots.confidence_histogram(rng.random(900), rng.random(100), bins=20, ax=ax, title="t")
    fig.suptitle("right and wrong answers")
    return fig


def _counting_draws(monkeypatch) -> list:
    from matplotlib.figure import Figure

    draws, draw = [], Figure.draw
    monkeypatch.setattr(
        Figure, "draw", lambda fig, renderer: (draws.append(1), draw(fig, renderer))
    )
    return draws


def test_a_saved_figure_is_the_tight_savefig_picture(tmp_path, monkeypatch):
    """save_figure draws once and crops; the picture is savefig(bbox_inches="tight")'s: same
    size, same pixels but for antialiasing at a sub-pixel offset (shifted by 2 pixels the
    mean difference is 5.5)."""
    from PIL import Image

    from mnistlab import runs

    draws = _counting_draws(monkeypatch)
    runs.save_figure(_histograms(), tmp_path / "ours.png")
    assert len(draws) == 1  # savefig draws twice
    _histograms().savefig(tmp_path / "savefig.png", dpi=110, bbox_inches="tight")
    ours, theirs = (
        np.asarray(Image.open(tmp_path / f"{name}.png"), dtype=float)
        for name in ("ours", "savefig")
    )
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).mean() < 4
    assert Image.open(tmp_path / "ours.png").info["dpi"] == pytest.approx((110, 110), rel=1e-3)


def test_a_figure_drawn_past_its_canvas_is_saved_whole(tmp_path, monkeypatch):
    """Text placed past the canvas (no layout moves it) is not cut off: the picture is
    enlarged to show it, as savefig's tight box does."""
    from PIL import Image

    from mnistlab import runs

    fig = _histograms()
    fig.text(1.01, 0.5, "a note beside the figure", va="center")
    draws = _counting_draws(monkeypatch)
    runs.save_figure(fig, tmp_path / "wide.png")
    assert len(draws) == 2  # laid out and measured once, drawn again on the larger canvas
    pixels = np.asarray(Image.open(tmp_path / "wide.png").convert("L"))
    assert pixels.shape[1] > 10 * 110  # wider than the 10-inch canvas
    assert (pixels[:, 10 * 110 + 20 :] < 128).sum() > 100  # and the note is drawn there


def test_a_score_off_the_unit_scale_is_drawn_on_its_own_range(tmp_path):
    """The scoreboard's right/wrong panels bin a score outside [0, 1] (a max logit) over its
    own range: on the [0, 1] bins every value fell outside, and the panel was empty (NaN
    densities, a RuntimeWarning)."""
    import warnings

    from mnistlab.studies.scoreboard import views
    from mnistlab.uncertainty.method import MethodOutput

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    probabilities = rng.dirichlet(np.ones(10), 500)
    max_logit = MethodOutput(
        "max-logit",
        "max logit",
        "plugin",
        {"test": probabilities},
        {"test": -rng.normal(8, 2, 500)},
    )
    drawn = {}

    class Writer:
        def figure(self, name, fig, caption):
            drawn[name] = fig

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        views.figures(Writer(), "mnist", [max_logit], labels)
    (panel,) = drawn["right-wrong-mnist"].axes
    heights = [patch.get_data().values for patch in panel.patches]
    assert len(heights) == 2 and all(np.isfinite(h).all() and h.sum() > 0 for h in heights)
    assert panel.get_xlabel() == "trust (- score)"
    plots.pyplot().close("all")
