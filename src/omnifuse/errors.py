"""One exception hierarchy for everything omnifuse reports to a user.

Every message is a single line that names the file, row/sample and field at fault, so the
CLI can print it as is (no traceback) and exit non-zero.
"""

from __future__ import annotations


class OmnifuseError(Exception):
    """Base class of all errors omnifuse raises on purpose."""


class DataError(OmnifuseError):
    """The user's data cannot be read or violates the data contract."""


class ConfigError(OmnifuseError):
    """A configuration, option or argument is invalid."""


class CacheError(OmnifuseError):
    """A cache entry is unreadable; callers rebuild it from the source data."""


class DataWarning(UserWarning):
    """Something in the user's data was dropped or repaired; the message says what."""
