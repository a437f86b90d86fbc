"""Errors a user can fix. The CLI prints their message on one line and exits with code 2."""

import errno
import os


class UserError(Exception):
    """Bad input or environment: the message names the problem and the fix."""


class DataError(UserError):
    """A data file is missing, corrupt or cannot be downloaded."""


class ConfigError(UserError, ValueError):
    """An option has an invalid value."""


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
    if isinstance(exc, ModuleNotFoundError) and exc.name in BACKEND_MODULES:
        backend = os.environ.get("KERAS_BACKEND", "jax")
        return (
            f"cannot import {exc.name} for the Keras backend {backend!r}: install it, "
            "or unset KERAS_BACKEND"
        )
    return None
