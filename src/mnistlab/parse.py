"""Option text as the command line and the API take it: '0.01,0.2' -> (0.01, 0.2)."""

from __future__ import annotations

from mnistlab.config import _check
from mnistlab.errors import ConfigError


def parse_floats(text: str, name: str = "--p") -> tuple[float, ...]:
    """'0.01,0.2' -> (0.01, 0.2)."""
    parts = [v.strip() for v in str(text).split(",")]
    _check(all(parts) or parts == [""], f"{name} has an empty value between commas: {text!r}")
    try:
        values = tuple(float(v) for v in parts if v)
    except ValueError:
        raise ConfigError(
            f"{name} takes numbers separated by commas (e.g. 0.01,0.2), got {text!r}"
        ) from None
    _check(len(values) > 0, f"{name} needs at least one number, got {text!r}")
    return values


def parse_hidden(text: str) -> tuple[int, ...]:
    """'128' -> (128,); '256,128' -> (256, 128)."""
    try:  # an empty part ('256,,128', '') fails int() as well
        return tuple(int(part.strip()) for part in str(text).split(","))
    except ValueError:
        raise ConfigError(
            f"--hidden takes whole numbers separated by commas (e.g. 256,128), got {text!r}"
        ) from None
