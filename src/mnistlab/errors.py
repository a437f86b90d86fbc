"""Errors a user can fix. The CLI prints their message on one line and exits with code 2."""

import errno
import os


class UserError(Exception):
    """Bad input or environment: the message names the problem and the fix."""


class DataError(UserError):
    """A data file is missing, corrupt or cannot be downloaded."""


class ConfigError(UserError, ValueError):
    """An option has an invalid value."""


def check_printable(text: str, where: str, *, longest: int = 80) -> None:
    """A name that goes to the terminal, tables, figures and files: printable text of a
    sensible length (a newline added a table row; an escape sequence cleared the screen)."""
    import unicodedata

    if not isinstance(text, str):
        raise ConfigError(f"{where} must be text, got {type(text).__name__}")
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise ConfigError(
            f"{where} {text!r} holds the control character {bad!r}; use printable text"
        )
    if not text.strip() or len(text) > longest:
        raise ConfigError(f"{where} must be 1 to {longest} characters, got {len(text)}")


WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
BACKEND_MODULES = {"jax", "jaxlib", "tensorflow", "torch"}  # what a Keras backend needs


def one_line(exc: BaseException) -> str | None:
    """The one-line message for an error the user can fix, or None for a bug."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRORS:
        return (
            f"cannot write {exc.filename or 'a file'} ({exc.strerror}); finished work is saved: "
            "free space or choose another --out / --cache-dir, then run the command again"
        )
    if isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError)):
        kind = (
            "a folder where a file"
            if isinstance(exc, IsADirectoryError)
            else "a file where a folder"
        )
        return (
            f"cannot use {exc.filename}: there is {kind} should be ({exc.strerror}); finished work "
            "is saved: move it away or choose another --out / --cache-dir / --data-dir"
        )
    if isinstance(exc, RuntimeError) and "Unable to initialize backend" in str(exc):
        return (
            f"JAX cannot start the backend JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r} "
            f"asks for on this machine ({str(exc).splitlines()[0][:120]}); unset JAX_PLATFORMS "
            "or set it to cpu"
        )
    if isinstance(exc, ModuleNotFoundError) and exc.name in BACKEND_MODULES:
        backend = os.environ.get("KERAS_BACKEND", "jax")
        return (
            f"cannot import {exc.name} for the Keras backend {backend!r}: install it, "
            "or unset KERAS_BACKEND"
        )
    return None
