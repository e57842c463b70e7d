"""Native: a closed loop driven by a native tool (wrk), for calibration beside Locust's.

The same connections and the same request bytes as the closed-loop step it follows, sent by
a program that costs the driver a few µs a request: what the server serves when the driver
is not the limit. Its rows say ``load: native`` and name the tool; they are never mixed into
Locust's rows, charts or SLO verdict (:mod:`asgi_bench.run.native` runs it).
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import ClassVar

from asgi_bench.load import Step
from asgi_bench.load.http import H1, Http
from asgi_bench.types import LoadShape
from asgi_bench.workloads import Workload


def follows(step: Step, workload: Workload) -> bool:
    """Does a native step follow ``step``: a closed-loop step of a workload that is one plain
    GET (its ``native_path``)?"""
    return step.kind == "closed" and not step.http.h2 and workload.native_path is not None


@dataclass(frozen=True)
class Native:
    connections: int
    tool: str  # a name of NATIVE_TOOLS, below

    kind: ClassVar[LoadShape] = "native"
    http: ClassVar[Http] = H1  # wrk speaks HTTP/1.1 only

    @property
    def id(self) -> str:
        return f"native-{self.tool}-{self.connections}c"

    @property
    def users(self) -> int:
        """As a closed loop's: one connection each, the next request when one is answered."""
        return self.connections

    def describe(self) -> str:
        return f"{self.connections} connections, closed loop, driven by {self.tool}"

    def locust_args(self, processes: int) -> list[str]:
        return []  # not a Locust step

    def environment(self) -> dict[str, str]:
        return {}

    def concurrency(self, processes: int) -> int:
        return self.connections


# wrk's own figures at the end of its run, as one JSON line its output can be searched for.
MARK = "ASGI-BENCH-NATIVE "
WRK_SCRIPT = r"""-- asgi-bench: wrk's summary as one JSON line
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"duration_us": %d, "requests": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, '
    .. '"p99_us": %d, "p999_us": %d, "max_us": %d, "cpu_s": %.6f}\n',
    "ASGI-BENCH-NATIVE ", summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, os.clock()))
end
"""


@dataclass(frozen=True)
class NativeFigures:
    """What a native tool said of one run (its whole run: it cuts no window)."""

    seconds: float
    responses: int  # answers read, any status
    non_2xx: int
    socket_errors: int  # connect, read, write and timeout errors
    latency_us: dict[str, int]  # p50_us ... p999_us, max_us
    cpu_s: float  # the tool's own CPU time, all its threads

    @property
    def ok(self) -> int:
        return max(0, self.responses - self.non_2xx)


class Wrk:
    """wrk (HTTP/1.1): ``GET PATH HTTP/1.1`` with a ``Host`` header and nothing else, the
    bytes :data:`asgi_bench.loadtests.REQUEST_HEAD` says every built-in workload sends."""

    name = "wrk"
    http = "1.1"

    def path(self) -> str | None:
        return shutil.which(self.name)

    def version(self) -> str | None:
        """``wrk debian/4.1.0-3+b2`` as ``wrk -v`` says it; None when not installed."""
        return _version(self.name) if self.path() is not None else None

    def script(self) -> str:
        """A Lua script that makes wrk print its figures as one line (see :meth:`parse`)."""
        return WRK_SCRIPT

    def argv(
        self, url: str, connections: int, threads: int, seconds: float, script: str
    ) -> list[str]:
        return [
            self.name,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{math.ceil(seconds)}s",  # wrk takes whole seconds only
            "--timeout",
            "10s",
            "-s",
            script,
            url,
        ]

    def parse(self, output: str) -> NativeFigures | None:
        """The figures of the marked line of its output; None when there is none."""
        for line in reversed(output.splitlines()):
            if line.startswith(MARK):
                data = json.loads(line[len(MARK) :])
                return NativeFigures(
                    seconds=data["duration_us"] / 1e6,
                    responses=data["requests"],
                    non_2xx=data["status"],
                    socket_errors=sum(data[k] for k in ("connect", "read", "write", "timeout")),
                    latency_us={
                        k: data[k] for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")
                    },
                    cpu_s=data["cpu_s"],
                )
        return None


@functools.cache
def _version(name: str) -> str | None:
    """What ``NAME -v`` says, asked once a process: every native repeat records it."""
    try:
        out = subprocess.run([name, "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(rf"{re.escape(name)} (\S+)", out.stdout + out.stderr)
    return f"{name} {found.group(1)}" if found else f"{name} (version unknown)"


# name -> tool. No HTTP/2 tool yet: h2load (nghttp2-client) is installed, not driven (README).
NATIVE_TOOLS: dict[str, Wrk] = {"wrk": Wrk()}


def find_tool(http: str = "1.1") -> Wrk | None:
    """The installed native tool for this HTTP version, if any."""
    for tool in NATIVE_TOOLS.values():
        if tool.http == http and tool.path() is not None:
            return tool
    return None
