"""Every study, in the order of the exercise. The CLI, the report, the API, the benchmark and the
tests all iterate over studies(): adding a study is one module plus one line in STUDIES here, or,
without forking mnistlab, an entry point in the group `mnistlab.studies` of an installed package
(naming a Study, or a function returning one or a list of them), which comes after these."""

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


ENTRY_POINT_GROUP = "mnistlab.studies"
_PLUGINS: list[
    Study
] = []  # the installed packages' studies, read once (a registration, not a cache)
_ENTRY_POINTS_LOADED = False


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            found = loaded() if callable(loaded) and not isinstance(loaded, Study) else loaded
            if isinstance(found, Study):
                found = [found]
            elif not isinstance(found, (list, tuple)):
                found = [found]  # neither a study nor a list of them: said below
            if not all(isinstance(study, Study) for study in found):
                raise TypeError("it gives something that is not a mnistlab Study")
        except Exception as error:  # a broken plugin must name itself, not stop with a traceback
            raise ConfigError(
                f"the study plugin {point.name!r} ({point.value}) failed to load: {error}; "
                f"fix or uninstall the package that provides it"
            ) from error
        for study in found:
            if study.name in {s.name for s in [*STUDIES, *_PLUGINS]}:
                raise ConfigError(
                    f"the study plugin {point.name!r} ({point.value}) names a study {study.name!r} "
                    f"that already exists: rename it in the package that provides it"
                )
            _PLUGINS.append(study)


def studies() -> list[Study]:
    """Every study: the built-in ones in the exercise's order, then installed packages'."""
    _load_entry_points()
    return [*STUDIES, *_PLUGINS]


def names() -> list[str]:
    return [study.name for study in studies()]


def get(name: str) -> Study:
    for study in studies():
        if study.name == name:
            return study
    raise ConfigError(f"unknown study {name!r}: choose one of {', '.join(names())}")
