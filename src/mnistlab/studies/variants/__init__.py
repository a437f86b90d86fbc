"""Study: train a grid of network variants (activation, hidden units, optimizer and learning"""

from mnistlab.studies.variants.study import STUDY

__all__ = ["STUDY"]
