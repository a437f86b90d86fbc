"""Study: answers with a promise. Conformal prediction sets and abstention with an error bound,"""

from mnistlab.studies.conformal.study import STUDY

__all__ = ["STUDY"]
