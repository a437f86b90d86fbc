"""The environment variables that mnistlab or its libraries read, checked before any work:
a wrong value is a one-line ConfigError naming the variable and the fix, not a traceback
from deep inside JAX, Keras or matplotlib (or an abort from XLA) after minutes of work.

JAX_PLATFORMS naming a backend this machine lacks can only be found by JAX itself; that
failure is turned into one line where JAX starts (errors.one_line).
"""

from __future__ import annotations

import os

from mnistlab.errors import ConfigError

KERAS_BACKENDS = ("jax", "tensorflow", "torch", "numpy", "openvino")
JAX_PLATFORM_NAMES = ("cpu", "gpu", "cuda", "rocm", "tpu", "metal", "METAL")
TRUTH_VALUES = ("y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0")
JAX_BOOLEANS = ("JAX_ENABLE_X64", "JAX_DISABLE_JIT", "JAX_DEBUG_NANS", "JAX_DEBUG_INFS")


def check_environment(environ=None) -> None:
    """Raise ConfigError for the first environment variable with a value that cannot work."""
    env = os.environ if environ is None else environ
    backend = env.get("KERAS_BACKEND")
    if backend and backend not in KERAS_BACKENDS:
        _bad("KERAS_BACKEND", backend, f"one of {', '.join(KERAS_BACKENDS)} (mnistlab uses jax)")
    platforms = [p.strip() for p in env.get("JAX_PLATFORMS", "").split(",") if p.strip()]
    if unknown := [p for p in platforms if p not in JAX_PLATFORM_NAMES]:
        _bad(
            "JAX_PLATFORMS",
            env["JAX_PLATFORMS"],
            f"names from {', '.join(JAX_PLATFORM_NAMES[:6])}",
            unknown,
        )
    for name in JAX_BOOLEANS:
        if env.get(name, "").strip() and env[name].strip().lower() not in TRUTH_VALUES:
            _bad(name, env[name], "true or false (1 or 0)")
    # Every XLA flag starts with --xla_; XLA aborts the process on any other (a fatal log line).
    flags = env.get("XLA_FLAGS", "").split()
    if odd := [f for f in flags if not f.startswith("--xla_")]:
        _bad("XLA_FLAGS", env["XLA_FLAGS"], "XLA flags only, each starting with --xla_", odd)
    mpl = env.get("MPLBACKEND")
    if mpl:
        try:  # importing matplotlib checks it (a bad one fails that import)
            from matplotlib import rcsetup

            rcsetup.validate_backend(mpl)
        except ValueError:
            _bad("MPLBACKEND", mpl, "a matplotlib backend such as Agg")
    for name in ("MNISTLAB_DATA_DIR", "MNISTLAB_CACHE_DIR"):
        if env.get(name) and os.path.isfile(os.path.expanduser(env[name])):
            raise ConfigError(f"{name}={env[name]} is a file; point it at a folder, or unset it")


def _bad(name: str, value: str, wanted: str, parts=None) -> None:
    detail = f" ({', '.join(map(repr, parts))} not known)" if parts else ""
    raise ConfigError(f"{name}={value!r} cannot work{detail}: set it to {wanted}, or unset it")
