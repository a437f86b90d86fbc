"""What a method is (Method: one record of the registry, registry.py) and what it gives
(MethodOutput: its probabilities and trust score on every input set, higher = less trust)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from mnistlab.errors import ConfigError, check_printable

# What a method's probabilities are. A "score" method reuses another method's probabilities
# (entropy ranks max softmax's answers differently; its calibration is max softmax's).
PROBABILITIES = "probabilities"  # a predictive distribution of its own
VOTE_SHARES = "vote shares"  # the share of members voting for each class: no distribution
SCORE = "score"
KINDS = (PROBABILITIES, VOTE_SHARES, SCORE)

# The trained models a method can ask for, per seed replicate.
BASE, MC_DROPOUT, ENSEMBLE = "base", "mc_dropout", "ensemble"
ROLES = (BASE, MC_DROPOUT, ENSEMBLE)

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.{}:_-]*$")


@dataclass(frozen=True)
class Method:
    """One uncertainty method.

    key: stable identifier (lower case, digits, '-', '.'), used in results, --methods and code;
    name: display name (tables, legends); may hold {p}, {members}, {ensemble_size}, {rate}.
    outputs(evaluation, method) -> (probabilities, score): dicts keyed by the evaluation's set
      names, probabilities (N, 10) and score (N,) with higher = less trust.
    kind: PROBABILITIES, VOTE_SHARES or SCORE (see above).
    family: the group the tables and verdicts use ("single model", "weight dropout", ...).
    roles: the models it needs (BASE, MC_DROPOUT, ENSEMBLE); BASE is always trained.
    fits: what it fits on the held-out validation split, in words ("" when nothing): its
      outputs then depend on that split, and are shared only between evaluations fitted alike.
    per_fraction: one instance per weight-dropout fraction p; key and name hold {p}.
    label: a short name for legends and narrow columns (default: the name).
    position_dependent: its per-image randomness is keyed by the image's position among the
      evaluated sets (MC dropout): its outputs are reused only for the same layout.
    """

    key: str
    name: str
    outputs: Callable
    kind: str = PROBABILITIES
    family: str = "single model"
    roles: tuple[str, ...] = (BASE,)
    fits: str = ""
    per_fraction: bool = False
    label: str = ""
    position_dependent: bool = False
    p: float | None = None  # the fraction of a per_fraction instance
    family_key: str = ""  # an instance's template prefix ('wdrop' for 'wdrop-0.2-vote')

    def __post_init__(self):
        for field_name in ("name", "label"):  # shown in tables, figures and the terminal
            if getattr(self, field_name):
                check_printable(getattr(self, field_name), f"method {field_name}", longest=120)
        if not KEY_PATTERN.match(self.key):
            raise ConfigError(
                f"method key {self.key!r} must be lower case letters, digits, '-', '.' or '_'"
            )
        if self.kind not in KINDS:
            raise ConfigError(
                f"method {self.key!r}: kind must be one of {KINDS}, got {self.kind!r}"
            )
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise ConfigError(f"method {self.key!r}: unknown roles {sorted(unknown)}; use {ROLES}")
        if not callable(self.outputs):
            raise ConfigError(f"method {self.key!r}: outputs must be a function")

    @property
    def proper(self) -> bool:
        """Its probabilities form a predictive distribution (its own, or, for a score, the
        one it borrows): NLL is meaningful. Vote shares are not one."""
        return self.kind != VOTE_SHARES

    def instance(self, sizes: dict, p: float | None = None) -> Method:
        """This method with its sizes (members, ensemble_size, rate) and fraction filled in."""
        values = {**sizes, "p": p}
        return replace(
            self,
            key=_filled(self.key, values),
            name=_filled(self.name, values),
            label=_filled(self.label or self.name, values),
            p=p,
            family_key=self.key.split("-{", 1)[0],
        )

    def describe(self) -> dict:
        """What results.json records of it (views read methods back by these fields)."""
        return {**_described(self), "fits": self.fits}


@dataclass
class MethodOutput:
    """A method's probabilities and scores on every input set ('test', 'ood/...')."""

    key: str
    name: str
    family: str
    probabilities: dict
    score: dict
    kind: str = PROBABILITIES
    label: str = ""

    @classmethod
    def of(cls, method: Method, probabilities: dict, score: dict) -> MethodOutput:
        return cls(
            method.key,
            method.name,
            method.family,
            probabilities,
            score,
            method.kind,
            method.label or method.name,
        )

    @property
    def proper(self) -> bool:
        """The probabilities form a predictive distribution (NLL is meaningful): see Method."""
        return self.kind != VOTE_SHARES

    def describe(self) -> dict:
        return _described(self)


class _Placeholders(dict):
    def __missing__(self, name):
        return "{" + name + "}"  # a brace of the user's own, not one of ours: left as it is


def _filled(text: str, values: dict) -> str:
    """text with {p}, {members}, {ensemble_size}, {rate} filled in; anything else untouched."""
    try:
        return text.format_map(_Placeholders(values))
    except (ValueError, IndexError, AttributeError):  # a lone brace, {0}, {x.y}: a plain name
        return text


def _described(method) -> dict:
    """What a Method and its MethodOutput both record of the method."""
    return {
        "key": method.key,
        "name": method.name,
        "label": method.label or method.name,
        "kind": method.kind,
        "family": method.family,
    }
