"""Study: the field's out-of-distribution detectors on near, far and open-set protocols."""

from mnistlab.studies.ood.study import STUDY

__all__ = ["STUDY"]
