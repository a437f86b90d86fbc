"""The benchmark: `mnistlab bench` (timing.py), the exercise against the notebook way
(exercise.py) and the convolutional epochs against what bounds them (conv.py)."""

from mnistlab.bench.timing import main

__all__ = ["main"]
