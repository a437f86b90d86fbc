"""Figures true to their numbers: bands that stay where the quantity can be, legends that cover
no data."""

import numpy as np

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
