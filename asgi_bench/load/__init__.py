"""Load shapes: how one step drives a server. Name -> ``module:attribute``, imported lazily.

A step is one load shape with its parameters (``closed`` with N users, ``open`` at R
requests/s); each repeat of a step is one measured window on a fresh server process. The
Locust side of every shape lives in ``loadtests/``. To add a shape, write one small module
beside this one with a class that satisfies :class:`Step`, and add one line here.
"""

from __future__ import annotations

from typing import Protocol

from asgi_bench.system.importer import import_from_string

LOADS: dict[str, str] = {
    "closed": "asgi_bench.load.closed:Closed",
    "open": "asgi_bench.load.open:Open",
}


class Step(Protocol):
    """One load shape with its parameters."""

    @property
    def kind(self) -> str:
        """The name in :data:`LOADS`: ``closed`` or ``open``."""

    @property
    def id(self) -> str:
        """A folder-safe name, unique within a cell: ``closed-32u``, ``open-1000rps``."""

    def describe(self) -> str:
        """For people: ``32 users, closed loop``."""

    def locust_args(self, processes: int) -> list[str]:
        """Locust command-line arguments for this shape (users, spawn rate)."""

    def environment(self) -> dict[str, str]:
        """Settings the Locust side reads from its environment."""

    def concurrency(self, processes: int) -> int:
        """The most requests this shape can have in flight at once (for count checks)."""


def load_class(kind: str) -> type[Step]:
    try:
        target = LOADS[kind]
    except KeyError:
        from asgi_bench.errors import UsageError

        raise UsageError(f"unknown load {kind!r}; choose from: {', '.join(LOADS)}") from None
    cls: type[Step] = import_from_string(target)
    return cls
