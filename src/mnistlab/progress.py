"""Progress for long work: rich bars on a terminal, an HTML progress bar in a Jupyter
notebook (status lines there go to stdout: Jupyter shows stderr as an error-coloured block),
silent with --quiet or when output goes to neither."""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mnistlab import interrupt

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def in_notebook() -> bool:
    """Running in a Jupyter kernel (which renders HTML and colours stderr as an error)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def enabled() -> bool:
    return not _quiet and (sys.stderr.isatty() or in_notebook())


def say(message: str) -> None:
    """A status line for the user (stderr, so stdout stays clean for summaries; stdout in a
    notebook)."""
    interrupt.check()  # progress points are safe points to act on a pending Ctrl-C
    if not _quiet:
        print(message, file=sys.stdout if in_notebook() else sys.stderr, flush=True)


class _NullTask:
    def advance(self, amount: float = 1, **fields) -> None:
        interrupt.check()


class _RichTask:
    def __init__(self, progress, task_id):
        self._progress, self._id = progress, task_id

    def advance(self, amount: float = 1, **fields) -> None:
        interrupt.check()
        status = "  ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()
        )
        self._progress.update(self._id, advance=amount, status=status)


class _NotebookTask:
    """An HTML <progress> bar in the cell's output, redrawn at most every UPDATE seconds."""

    UPDATE = 0.25

    def __init__(self, description: str, total: float | None):
        from IPython.display import HTML, display

        self._html, self._description, self._total = HTML, description, total
        self._done, self._status, self._start, self._drawn = 0.0, "", time.monotonic(), 0.0
        self._handle = display(self._render(), display_id=True)

    def _render(self):
        elapsed = time.monotonic() - self._start
        bar = (
            f'<progress value="{self._done:g}" max="{self._total:g}" style="width:40%"></progress>'
            f" {self._done:g}/{self._total:g}"
            if self._total
            else f"{self._done:g}"
        )
        text = html.escape(f"{self._description}")
        status = html.escape(self._status)
        return self._html(
            f"<div><code>{text}</code> {bar} {elapsed:.0f} s <code>{status}</code></div>"
        )

    def advance(self, amount: float = 1, **fields) -> None:
        interrupt.check()
        self._done += amount
        self._status = "  ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()
        )
        if time.monotonic() - self._drawn >= self.UPDATE:
            self.draw()

    def draw(self) -> None:
        self._drawn = time.monotonic()
        self._handle.update(self._render())


@contextmanager
def task(description: str, total: float | None) -> Iterator[_NullTask | _RichTask | _NotebookTask]:
    """A bar with `total` steps; call .advance(n, **fields) to move it and show fields."""
    if not enabled():
        yield _NullTask()
        return
    if in_notebook():
        bar = _NotebookTask(description, total)
        try:
            yield bar
        finally:
            bar.draw()  # the final count, however the last updates were spaced
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, transient=False) as progress:
        yield _RichTask(progress, progress.add_task(description, total=total, status=""))
