"""wrk, HTTP/1.1's native tool: its figures come out of a Lua ``done`` hook as one line."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from asgi_bench.load.native.figures import Invocation, NativeFigures, tool_version

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


class Wrk:
    """wrk (HTTP/1.1): ``GET PATH HTTP/1.1`` with a ``Host`` header and nothing else, the
    bytes :data:`asgi_bench.loadtests.REQUEST_HEAD` says every built-in workload sends."""

    name = "wrk"
    http = "1.1"
    package = "Debian's wrk"
    reports_cpu = True  # its Lua hook prints os.clock(): all its threads' CPU time

    def path(self) -> str | None:
        return shutil.which(self.name)

    def version(self) -> str | None:
        """``wrk debian/4.1.0-3+b2`` as ``wrk -v`` says it; None when not installed."""
        return tool_version(self.name, "-v") if self.path() is not None else None

    def script(self) -> str | None:
        """A Lua script that makes wrk print its figures as one line (see :meth:`parse`)."""
        return WRK_SCRIPT

    def runs_for(self, seconds: float) -> float:
        return math.ceil(seconds)  # wrk takes whole seconds only

    def argv(self, run: Invocation) -> list[str]:
        """``run.streams`` and ``run.log`` are HTTP/2's (h2load's): wrk has one request in
        flight per connection and prints its own percentiles, by its ``run.script``."""
        assert run.script is not None, "wrk prints its figures by its script"
        return [
            self.name,
            f"-t{run.threads}",
            f"-c{run.connections}",
            f"-d{self.runs_for(run.seconds):.0f}s",
            "--timeout",
            "10s",
            "-s",
            run.script,
            run.url,
        ]

    def parse(self, output: str, log: Path | None = None) -> NativeFigures | None:
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
