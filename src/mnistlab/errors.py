"""Errors a user can fix. The CLI prints their message on one line and exits with code 2."""


class UserError(Exception):
    """Bad input or environment: the message names the problem and the fix."""


class DataError(UserError):
    """A data file is missing, corrupt or cannot be downloaded."""


class ConfigError(UserError, ValueError):
    """An option has an invalid value."""
