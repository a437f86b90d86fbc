"""Progress bars for long work: rich bars on a terminal, silent with --quiet or when not a TTY."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from mnistlab import interrupt

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    return not _quiet and sys.stderr.isatty()


def say(message: str) -> None:
    """A status line for the user (stderr, so stdout stays clean for summaries)."""
    interrupt.check()  # progress points are safe points to act on a pending Ctrl-C
    if not _quiet:
        print(message, file=sys.stderr, flush=True)


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


@contextmanager
def task(description: str, total: float | None) -> Iterator[_NullTask | _RichTask]:
    """A bar with `total` steps; call .advance(n, **fields) to move it and show fields."""
    if not enabled():
        yield _NullTask()
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
