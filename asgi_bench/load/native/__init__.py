"""Native: a closed loop driven by a native tool, for calibration beside Locust's.

The same connections and the same requests as the closed-loop step it follows, sent by a
program that costs the driver a few µs a request: what the server serves when the driver
is not the limit. Its rows say ``load: native`` and name the tool; they are never mixed into
Locust's rows, charts or SLO verdict (:mod:`asgi_bench.run.native` runs it). One tool a
module, one per HTTP version: wrk for HTTP/1.1 (:mod:`.wrk`), h2load for HTTP/2
(:mod:`.h2load`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from asgi_bench.load import Step
from asgi_bench.load.closed import Closed
from asgi_bench.load.http import H1, Http
from asgi_bench.load.native.figures import Invocation, NativeFigures
from asgi_bench.system.importer import import_from_string
from asgi_bench.types import LoadShape
from asgi_bench.workloads import Workload

__all__ = [
    "NATIVE_TOOLS",
    "Invocation",
    "Native",
    "NativeFigures",
    "NativeTool",
    "find_tool",
    "follows",
    "get_tool",
]


class NativeTool(Protocol):
    """A native tool: how to find it, run it for a span and read what it said."""

    name: str  # its executable, and its name in NATIVE_TOOLS
    http: str  # the HTTP version it speaks: "1.1" or "2"
    package: str  # where it comes from, for the note when it is absent
    reports_cpu: bool  # its output holds its own CPU time; else NativeRun measures it

    def path(self) -> str | None: ...

    def version(self) -> str | None: ...

    def script(self) -> str | None:
        """A script it runs (wrk's Lua), written beside its output; None: it takes none."""

    def runs_for(self, seconds: float) -> float:
        """How long it runs when asked for ``seconds`` (wrk: whole seconds)."""

    def argv(self, run: Invocation) -> list[str]:
        """Its command line for ``run``."""

    def parse(self, output: str, log: Path | None = None) -> NativeFigures | None:
        """Its figures from its output (and its per-request log); None: it printed none."""


# name -> ``module:class`` of a tool, one per HTTP version (find_tool picks by version),
# imported when asked for. To add a tool, write one small module beside this one and add one
# line here.
NATIVE_TOOLS: dict[str, str] = {
    "wrk": "asgi_bench.load.native.wrk:Wrk",
    "h2load": "asgi_bench.load.native.h2load:H2load",
}


def get_tool(name: str) -> NativeTool:
    """The tool of that name in NATIVE_TOOLS."""
    tool: NativeTool = import_from_string(NATIVE_TOOLS[name])()
    return tool


def follows(
    step: Step, workload: Workload, tool: NativeTool | None = None, processes: int = 1
) -> bool:
    """Does a native step follow ``step``: a closed-loop step of a workload that is one plain
    GET (its ``native_path``), at the HTTP version of ``tool`` (of any tool when None)?

    Over HTTP/2 its users must fill whole connections in each of the ``processes`` Locust
    processes (each keeps its own connections): h2load gives every connection the same
    ``-m`` streams, where Locust's last connection in a process holds the users left over.
    32 users at 8 streams in one process are 4 connections; 30 would be 4 connections with
    32 requests in flight, and 32 in 3 processes (11, 11, 10 users) 6 connections partly
    filled: not the step Locust drove, so none follows it.
    """
    if not isinstance(step, Closed) or workload.native_path is None:
        return False
    if tool is not None and tool.http != step.http.version:
        return False
    if not step.http.h2:
        return True
    each, left_over = divmod(step.users, max(1, processes))
    return left_over == 0 and each % step.http.streams == 0


@dataclass(frozen=True)
class Native:
    connections: int
    tool: str  # a name of NATIVE_TOOLS
    http: Http = H1  # HTTP/2: ``http.streams`` requests in flight on each connection

    kind: ClassVar[LoadShape] = "native"

    @classmethod
    def after(cls, step: Closed, tool: str) -> Native:
        """The native step with the same requests in flight as ``step``: one a connection
        over HTTP/1.1, ``streams`` on each of ``users / streams`` over HTTP/2 (follows()
        says they divide)."""
        per_connection = step.http.streams if step.http.h2 else 1
        return cls(step.users // per_connection, tool, step.http)

    @property
    def id(self) -> str:
        return f"native-{self.tool}-{self.connections}c{self.http.suffix}"

    @property
    def users(self) -> int:
        """As a closed loop's: requests in flight, the next sent when one is answered (one
        a connection over HTTP/1.1); the peak table pairs it with Locust's step by it."""
        return self.connections * (self.http.streams if self.http.h2 else 1)

    def describe(self) -> str:
        said = f"{self.connections} connections, closed loop, driven by {self.tool}"
        return f"{said}, {self.http.describe()}" if self.http.h2 else said

    def locust_args(self, processes: int) -> list[str]:
        return []  # not a Locust step

    def environment(self) -> dict[str, str]:
        return {}

    def concurrency(self, processes: int) -> int:
        return self.users


def find_tool(http: str = "1.1") -> NativeTool | None:
    """The installed native tool for this HTTP version, if any."""
    for tool in map(get_tool, NATIVE_TOOLS):
        if tool.http == http and tool.path() is not None:
            return tool
    return None
