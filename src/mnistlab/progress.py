"""Progress for long work: rich bars on a terminal, an HTML progress bar in a Jupyter
notebook (status lines there go to stdout: Jupyter shows stderr as an error-coloured block),
plain lines every LINE_EVERY seconds when output goes to neither (a log, a CI job), silent
with --quiet. Work that will take long says so once it has measured its speed: one line
with the time left (a million ensemble members ran 4.4 hours without a word)."""

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


ESTIMATE_AFTER = 3.0  # seconds of measured speed before estimating the time left
SETTLE = 0.5  # seconds after the first step in which steps still count as the start-up
LONG = 60.0  # an estimate above this many seconds is said
LINE_EVERY = 30.0  # seconds between plain progress lines without a terminal


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} hours"


class _Clock:
    """Measures a task's speed: says once when the rest will take long; with `lines`, prints
    where it is every LINE_EVERY seconds (no bar to show it)."""

    def __init__(self, description: str, total: float | None, *, lines: bool = False):
        self.description, self.total, self.lines = description, total, lines
        self.done, self.start, self.estimated = 0.0, time.monotonic(), False
        self.last_line = self.start
        # (time, done) when the start-up ended: at the first advance, with those that come
        # within SETTLE of it. The speed is measured from there: the first step holds the
        # compiling, and 16 models trained at once finish their first epochs together
        # ("1 of 660 in 10 s" was said as 1.8 hours, for 75 s of work).
        self.first: tuple[float, float] | None = None

    def left(self) -> float | None:
        if not self.total or self.done <= 0:
            return None
        now, rest = time.monotonic(), max(self.total - self.done, 0)
        if self.first is not None and self.done > self.first[1] and now > self.first[0]:
            return (now - self.first[0]) / (self.done - self.first[1]) * rest
        return (now - self.start) / self.done * rest

    def advance(self, amount: float) -> None:
        self.done += amount
        now = time.monotonic()
        if self.first is None or now - self.first[0] < SETTLE:
            self.first = (self.first[0] if self.first else now, self.done)
        left = self.left()
        measured = self.done > self.first[1] and now - self.first[0] >= ESTIMATE_AFTER
        if not self.estimated and measured and left is not None:
            self.estimated = True
            if left > LONG:
                say(
                    f"{self.description}: about {duration(left)} left at the measured speed "
                    f"({self.done:,.0f} of {self.total:,.0f} in {duration(now - self.start)}); Ctrl-C "
                    "stops it, finished work is kept"
                )
        if self.lines and now - self.last_line >= LINE_EVERY:
            self.last_line = now
            where = f"{self.done:,.0f}" + (
                f" of {self.total:,.0f} ({100 * self.done / self.total:.0f}%)" if self.total else ""
            )
            rest = f", about {duration(left)} left" if left is not None else ""
            say(f"{self.description}: {where}, {duration(now - self.start)}{rest}")


class _NullTask:
    def __init__(self, clock: _Clock | None = None):
        self._clock = clock

    def advance(self, amount: float = 1, **fields) -> None:
        interrupt.check()
        if self._clock is not None:
            self._clock.advance(amount)


class _RichTask:
    def __init__(self, progress, task_id, clock: _Clock):
        self._progress, self._id, self._clock = progress, task_id, clock

    def advance(self, amount: float = 1, **fields) -> None:
        interrupt.check()
        self._clock.advance(amount)
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
        self._clock = _Clock(description, total)

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
        self._clock.advance(amount)
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
    if _quiet:
        yield _NullTask()
        return
    if not enabled():  # no terminal, no notebook: plain lines now and then
        yield _NullTask(_Clock(description, total, lines=True))
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
        task_id = progress.add_task(description, total=total, status="")
        yield _RichTask(progress, task_id, _Clock(description, total))
