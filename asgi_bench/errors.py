"""asgi-bench's own exception hierarchy.

Everything the harness raises on purpose derives from :class:`BenchError`, so the CLI can
print one clear line for it and exit non-zero, while real bugs keep their tracebacks.
"""

from __future__ import annotations


class BenchError(Exception):
    """Base class of every error asgi-bench raises on purpose."""


class UsageError(BenchError):
    """Bad input from the user: an unknown name, a bad value. The CLI exits 2."""


class ServerStartError(BenchError):
    """A server did not become ready. ``log_tail`` holds the end of its output."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class DriverError(BenchError):
    """The Locust driver failed or produced no usable output."""


class ResultsError(BenchError):
    """A results folder is missing data, or runs that cannot be compared were mixed."""
