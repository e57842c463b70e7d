"""A native tool's run: what it is asked (:class:`Invocation`) and what it said
(:class:`NativeFigures`), in one shape whichever tool it is; and its version."""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Invocation:
    """One run of a native tool: each tool reads what it takes of it.

    >>> Invocation("http://127.0.0.1:8001/", connections=4, threads=1, seconds=2.5)
    Invocation(url='http://127.0.0.1:8001/', connections=4, threads=1, seconds=2.5, \
script=None, streams=1, log=None)
    """

    url: str
    connections: int
    threads: int
    seconds: float
    script: str | None = None  # wrk's Lua file
    streams: int = 1  # HTTP/2: requests in flight on each connection (h2load's -m)
    log: str | None = None  # where the tool writes one line a request (h2load), if it does


@dataclass(frozen=True)
class NativeFigures:
    """What a native tool said of one run (its whole run: it cuts no window)."""

    seconds: float
    responses: int  # answers read, any status
    non_2xx: int
    socket_errors: int  # connect, read, write and timeout errors (h2load: its "errored")
    latency_us: dict[str, int]  # p50_us ... p999_us, max_us; {} where the run kept no log
    cpu_s: float | None  # the tool's own CPU time, all its threads; None: not known
    # Defaults, so an older native.json reads. Where the tool logs each request (h2load):
    # unix time of its first, and the HDR histogram of its 2xx answers' µs (base64, as
    # Locust's rows keep theirs). None and "": the span is counted back from the moment it
    # exited, and there is no histogram (wrk).
    started: float | None = None
    histogram: str = ""

    @property
    def ok(self) -> int:
        return max(0, self.responses - self.non_2xx)


@functools.cache
def tool_version(name: str, flag: str = "-v") -> str | None:
    """What ``NAME FLAG`` says (``wrk -v``, ``h2load --version``), asked once a process:
    every native repeat records it; None where it cannot be run."""
    try:
        out = subprocess.run([name, flag], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(rf"{re.escape(name)} (\S+)", out.stdout + out.stderr)
    return f"{name} {found.group(1)}" if found else f"{name} (version unknown)"
