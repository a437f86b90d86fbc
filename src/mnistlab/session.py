"""What a run keeps in this process: every cache and counter, owned by one Session.

Loaded models, method outputs, fits on the training split, tuned detectors, compiled functions,
Ray object references and the FLOP and traffic counters are each a named part of the current
session, made on first use. The command line starts a new session for every command; a
notebook works in the default one and can free everything it holds with
`mnistlab.clear_session()`. Nothing here is a module global of its own, so a test can say what
a run owns (`current().names()`) and that clearing it lets its models go.

Threads share the session (models train in threads); a Ray worker has the default session of
its own process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Session:
    """The caches and counters of one run, by name; `clear()` ends what they hold."""

    def __init__(self) -> None:
        self._parts: dict[str, object] = {}
        self._lock = threading.Lock()

    def part(self, name: str, make: Callable[[], object]):
        """The part called `name`, made by `make()` the first time it is asked for."""
        with self._lock:
            if name not in self._parts:
                self._parts[name] = make()
            return self._parts[name]

    def names(self) -> list[str]:
        """The parts made so far."""
        with self._lock:
            return sorted(self._parts)

    def clear(self) -> None:
        """Forget every part: the models, outputs and compiled functions they hold can go."""
        with self._lock:
            self._parts.clear()


_CURRENT = [Session()]  # the one name that lives as long as the process: which session is current


def current() -> Session:
    """The session the work in this process uses now."""
    return _CURRENT[0]


def begin() -> Session:
    """Start a new session and make it current (the last one's parts are no longer reached)."""
    _CURRENT[0] = Session()
    return _CURRENT[0]


def clear() -> None:
    """Free what the current session holds (mnistlab.clear_session() in a notebook)."""
    current().clear()


def part(name: str, make: Callable[[], object]):
    """current().part(name, make): how a module reaches its cache."""
    return current().part(name, make)
