"""Study: can the confidence be trusted when the test images move away from the training images?"""

from mnistlab.studies.shift.study import STUDY

__all__ = ["STUDY"]
