"""asgi-bench's own exception hierarchy.

Everything the harness raises on purpose derives from :class:`BenchError`, so the CLI can
print one clear line for it and exit non-zero, while real bugs keep their tracebacks.
"""

from __future__ import annotations

from typing import Any


class BenchError(Exception):
    """Base class of every error asgi-bench raises on purpose."""


class UsageError(BenchError):
    """Bad input from the user: an unknown name, a bad value. The CLI exits 2."""


class ImportFromStringError(UsageError):
    """A ``module:attribute`` string that does not import."""


class ServerStartError(BenchError):
    """A server did not become ready. ``log_tail`` holds the end of its output."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class ServerDiedError(BenchError):
    """A server that was ready stopped serving, or its process tree changed, under load."""


class DriverError(BenchError):
    """The Locust driver failed or produced no usable output."""


class ResultsError(BenchError):
    """A results folder is missing data, or runs that cannot be compared were mixed."""


class WriteError(BenchError):
    """A result could not be written (disk full, read-only file system): the run stops."""


class Interrupted(BaseException):
    """A signal asked the run to stop (Ctrl+C, SIGTERM, SIGHUP).

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` in a cell
    never swallows it; ``signum`` gives the exit code, 128 + signum.
    """

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum = signum
        self.name = name
        self.result: Any = None  # the repeat it interrupted, once judged and written
