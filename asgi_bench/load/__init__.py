"""Load shapes: how one step drives a server, one small module each (``closed``, ``open``).

A step is one load shape with its parameters (``closed`` with N users, ``open`` at R
requests/s); each repeat of a step is one measured window on a fresh server process. The
Locust side of every shape lives in ``loadtests/``. A new shape is one module beside these
with a class that satisfies :class:`Step`, and the ``--load`` choice that plans it
(:mod:`asgi_bench.config`).
"""

from __future__ import annotations

from typing import Protocol

from asgi_bench.load.http import Http
from asgi_bench.types import LoadShape


class Step(Protocol):
    """One load shape with its parameters."""

    @property
    def kind(self) -> LoadShape:
        """``closed`` or ``open``."""

    @property
    def http(self) -> Http:
        """The HTTP version (and streams) it speaks."""

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
