"""Every study, in the order of the exercise. The CLI, the report, the API, the benchmark and the
tests all iterate over STUDIES: adding a study is one module plus one line here."""

from __future__ import annotations

from mnistlab.errors import ConfigError
from mnistlab.studies import (
    claims,
    confidence,
    conformal,
    cross,
    dropout,
    morph,
    ood,
    scoreboard,
    shift,
    tutorial,
    variants,
)
from mnistlab.studies.framework.study import Study

STUDIES: list[Study] = [
    tutorial.STUDY,
    variants.STUDY,
    confidence.STUDY,
    cross.STUDY,
    morph.STUDY,
    dropout.STUDY,
    scoreboard.STUDY,
    shift.STUDY,
    conformal.STUDY,
    ood.STUDY,
    claims.STUDY,
]


def names() -> list[str]:
    return [study.name for study in STUDIES]


def get(name: str) -> Study:
    for study in STUDIES:
        if study.name == name:
            return study
    raise ConfigError(f"unknown study {name!r}: choose one of {', '.join(names())}")
