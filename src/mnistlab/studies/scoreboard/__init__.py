"""Study: which confidence signal tells right from wrong, and in-distribution from out?"""

from mnistlab.studies.scoreboard.study import STUDY

__all__ = ["STUDY"]
