"""Ctrl-C that is never lost: the first SIGINT is recorded and raises KeyboardInterrupt.

Python drops a KeyboardInterrupt raised inside a finalizer or callback ("Exception ignored in
..."), and a worker thread never sees one. Long work therefore calls `check()` at safe points
(each epoch, each ensemble chunk, each study), which raises again while an interrupt is
pending, and the CLI exits 130 whenever one was requested, never 0.

An interrupt is never raised in the middle of an import: a KeyboardInterrupt half-way through
importing jaxlib crashed the process (5 segfaults and 4 aborts in 102 early Ctrl-Cs). It is
recorded, and raised at the next check(). The `mnistlab` command records from its first
import on (at_startup), before its own handler is in place.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager

_requested = threading.Event()


def _on_sigint(signum, frame) -> None:
    _requested.set()
    if not _in_import(frame):  # else: raised by the next check()
        raise KeyboardInterrupt


def _in_import(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _record_only(signum, frame) -> None:
    _requested.set()


def at_startup() -> None:
    """For the `mnistlab` command, before its first heavy import: Ctrl-C is recorded, not
    raised, until handled() takes over (which then ends the command with 130)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _record_only)


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed (from any thread)."""
    if _requested.is_set():
        raise KeyboardInterrupt


def requested() -> bool:
    return _requested.is_set()


@contextmanager
def handled():
    """Install the handler for the duration of a command (main thread only); the request
    belongs to that command and is forgotten when it ends. A Ctrl-C recorded at start-up
    stays pending: the command's first check() raises it."""
    early = _requested.is_set() and signal.getsignal(signal.SIGINT) is _record_only
    _requested.clear()
    if threading.current_thread() is not threading.main_thread():
        try:
            yield
        finally:
            _requested.clear()
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    if early:
        _requested.set()
    previous_hook = sys.unraisablehook

    def quiet_when_recorded(unraisable):
        # A KeyboardInterrupt that landed in a finalizer is not lost (check() raises it again),
        # so Python's "Exception ignored in ..." report would only alarm the user.
        if not (_requested.is_set() and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_when_recorded
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        _requested.clear()
