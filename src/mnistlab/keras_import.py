"""Keras without scikit-learn, in the command-line process.

Keras imports scikit-learn, where it is installed, for one optional feature: its
scikit-learn wrappers (keras.wrappers.SKLearnClassifier and friends). That import costs
a noticeable part of start-up, in every command that trains or predicts with Keras. No mnistlab command uses
those wrappers, so the `mnistlab` command (cli.entry) turns Keras' own `import sklearn`
into an ImportError, which Keras handles: it leaves the wrappers out. Anyone else in the
process still imports scikit-learn as usual. The Python API (a notebook) is left alone,
since a user there may want Keras' wrappers.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder


class KerasWithoutScikitLearn(MetaPathFinder):
    """A finder that fails `import sklearn` when Keras' own code asks for it."""

    def find_spec(self, name, path=None, target=None):
        if name != "sklearn" and not name.startswith("sklearn."):
            return None
        frame = sys._getframe(1)
        while frame is not None and _module(frame).startswith("importlib"):
            frame = frame.f_back  # the import machinery's own frames, up to who imports it
        if frame is not None and _module(frame).startswith("keras."):
            raise ImportError(f"{name} is not imported for Keras in the mnistlab command")
        return None  # anyone else (code Keras calls included): the normal finders go on


def _module(frame) -> str:
    return frame.f_globals.get("__name__", "")


def skip_scikit_learn_for_keras() -> None:
    """Install the finder first in sys.meta_path (once)."""
    if not any(isinstance(finder, KerasWithoutScikitLearn) for finder in sys.meta_path):
        sys.meta_path.insert(0, KerasWithoutScikitLearn())
