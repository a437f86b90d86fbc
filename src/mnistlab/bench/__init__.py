"""The benchmark: `mnistlab bench` (timing.py) and the exercise against the notebook way
(exercise.py)."""

from mnistlab.bench.timing import main

__all__ = ["main"]
