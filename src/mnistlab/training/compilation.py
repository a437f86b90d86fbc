"""JAX's persistent compilation cache, kept beside the model cache (CACHE_DIR/xla).

A study command compiles the same few programs every time it starts (the predictor of each
architecture, the ensemble runners); compiling them is most of a warm command's work. With
this cache a second process loads them from disk instead. JAX keys each entry on the
program, the jaxlib version and the XLA flags, so a stale entry is never used for another
program. A user who set JAX_COMPILATION_CACHE_DIR keeps their own choice.
"""

from __future__ import annotations

import os
import sys

from mnistlab.training.cache import resolve_cache_dir

MIN_COMPILE_SECONDS = 0.05  # programs that compile faster than this are not worth a file
_enabled: str | None = None


def enable_persistent_cache(cache_dir=None) -> str | None:
    """Point JAX at CACHE_DIR/xla (once per process; before the first compile is best).
    Returns the folder in use, or None when it cannot be created (nothing is cached then)."""
    global _enabled
    if _enabled is not None or os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return _enabled or os.environ.get("JAX_COMPILATION_CACHE_DIR")
    folder = resolve_cache_dir(cache_dir) / "xla"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    use_folder(folder)
    _enabled = str(folder)
    return _enabled


def use_folder(folder, *, inherited: bool = False) -> None:
    """Point JAX's persistent compilation cache at `folder` in this process: now, or through
    the environment variables JAX reads when it is imported (a command that never compiles
    never imports it). inherited: set those variables in any case, so that the processes
    this one starts use the folder too (the test suite's processes share one cache)."""
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": MIN_COMPILE_SECONDS,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    imported = "jax" in sys.modules
    if inherited or not imported:
        for name, value in settings.items():
            os.environ[name.upper()] = str(value)
    if imported:
        import jax

        for name, value in settings.items():
            jax.config.update(name, value)
