"""A study's figures drawn by forked processes while the study goes on, where that is safe.

A warm study command is mostly drawing: answered from cached models, `morph` spends about
half its time saving its three figures one after another on one core. Where forking is safe (no JAX
imported and no other thread: a command answering from cached models with NumPy), every
figure but the newest is drawn and saved by a child process, so the cores draw while the
command builds the next figure, and the newest is drawn by the command itself at the end.
Elsewhere (JAX's threads, a notebook's, a progress bar's) a figure is saved in this process,
as before. Either way the files are the same: the child runs the same save_figure.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from mnistlab.runs import save_figure


def can_fork() -> bool:
    """Forking copies only the calling thread: safe when it is the only one (JAX starts its
    own at import, Jupyter and rich theirs), and worth it with a second core. Linux only:
    macOS's system libraries are not fork-safe (Python itself spawns there)."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and "jax" not in sys.modules
        and threading.active_count() == 1
        and (os.cpu_count() or 1) > 1
    )


class FigureSaver:
    """Where forking is unsafe, save(fig, path) saves the figure at once, as before. Where it
    is safe, it holds the figure back and hands the one before it to a child; wait() draws
    the newest here while the children draw the others (so a study with one figure forks
    nothing), and returns when every figure is on disk.
    A child that fails leaves its figure to this process, which saves it (and raises what
    went wrong, if it goes wrong again)."""

    def __init__(self):
        self.held: tuple[object, Path] | None = None  # the newest figure, not yet given out
        self.pending: list[tuple[int, object, Path]] = []  # (child's pid, figure, path)

    def save(self, fig, path: Path) -> None:
        if not can_fork():  # nothing held back: a failed study leaves no figure open
            self.wait()
            save_figure(fig, path)
            return
        held, self.held = self.held, (fig, Path(path))
        if held is None:
            return
        while len(self.pending) >= (os.cpu_count() or 1):  # a core each, no more
            self._reap(self.pending[0])
        sys.stdout.flush()  # or the child would print what is buffered again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: save, and leave without running the parent's exit handlers
            code = 1
            try:
                save_figure(*held)
                code = 0
            finally:
                os._exit(code)
        self.pending.append((pid, *held))

    def wait(self) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            save_figure(*held)
        while self.pending:
            self._reap(self.pending[0])

    def _reap(self, entry) -> None:
        self.pending.remove(entry)
        pid, fig, path = entry
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0 and path.is_file():
            from mnistlab.plots import pyplot

            pyplot().close(fig)  # drawn by the child; pyplot still holds it here
        else:
            save_figure(fig, path)
