"""Checks that a drawn figure reads where the report shows it: its smallest text and its
panel titles (the report's browser test runs them on every figure; a plugin's author can too).
At the dpi a figure is saved with, a text of s points is s x dpi / 72 pixels, less where the
page shrinks the figure to its column (plots.COLUMN_INCHES)."""

from __future__ import annotations


def smallest_text_points(fig) -> float:
    """The size in points of the smallest text a drawn figure shows (the legibility check:
    at the saved dpi, points x dpi / 72 pixels, less where the page shrinks the figure)."""
    from matplotlib.text import Text

    texts = fig.findobj(lambda a: isinstance(a, Text) and a.get_visible() and a.get_text().strip())
    return min((t.get_fontsize() for t in texts), default=0.0)


def overlapping_titles(fig) -> list[tuple[str, str]]:
    """Pairs of axes titles that overlap on a drawn figure (a title longer than its panel runs
    into its neighbour's): the check that no label is drawn over another."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # a closed figure has lost its own canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    titles = [ax.title for ax in fig.axes if ax.title.get_visible() and ax.title.get_text()]
    boxes = [t.get_window_extent(renderer) for t in titles]
    return [
        (titles[i].get_text(), titles[j].get_text())
        for i in range(len(titles))
        for j in range(i + 1, len(titles))
        if boxes[i].overlaps(boxes[j])
    ]
