"""One root exception and a few meaningful subclasses.

The CLI maps every :class:`HwnasError` to a one-line message in a single place
(``hwnas.cli.main``): :class:`UsageError` and its subclasses exit with code 2,
every other :class:`HwnasError` with code 1. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations


class HwnasError(Exception):
    """Root of every error hwnas raises on purpose; the message is one line for a user."""


class UsageError(HwnasError):
    """The user asked for something malformed or unknown (CLI exit code 2)."""


class InvalidArchitecture(UsageError):
    """An architecture encoding does not parse or lies outside its search space."""


class UnknownName(UsageError):
    """A name (space, proxy, device, backend, format) is not registered."""


class MissingDependency(HwnasError):
    """An optional package or platform is needed; the message carries the install hint."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(f"{what} is not available: {hint}")
        self.what = what
        self.hint = hint


class DeviceError(HwnasError):
    """A target device could not be reached or could not run a model."""


class LatencyUnknown(HwnasError):
    """A latency source has no entry for an architecture or block (never guessed)."""


def excerpt(text: str, limit: int = 80) -> str:
    """``repr(text)``, cut to its first ``limit`` characters when longer: error lines quote input, not all of it."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"
