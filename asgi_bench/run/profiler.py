"""CPU profiles of the server (or the driver) during the measured window, by py-spy.

py-spy attaches to a running process tree from outside (``--subprocesses``), so the server
runs exactly as it does unprofiled: no import hook, no flag of its own. It samples only
while a thread holds the GIL (``--gil``): a worker waiting in ``epoll`` or a granian main
thread parked in Rust is not CPU and is left out, so each sample stands for one interval of
Python-side CPU time, and µs per request per component follow from the sample count alone
(:mod:`asgi_bench.verdict.profile`). ``--native`` adds the C and Rust frames under each
Python one, which is where a send's time goes: ``write (libc.so.6)``, the kernel.

py-spy stops the process it samples for a moment at each sample, and for tens of
milliseconds when it first attaches (it reads every library's symbols for ``--native``):
measured here, a 71 ms p99 at 1,000 req/s from that pause alone when it fell inside the
window. So it attaches :func:`lead` seconds before the window, in the warm-up, at the same
offered load, and is stopped (SIGINT, on which it writes its file) at the window's end: the
profile covers the window and that lead, and its µs per request count the requests of both.
py-spy runs on the other side's CPUs. On the profiled process's own CPU it is woken only
once that process yields the CPU, which it does when it waits, GIL released: its samples
then miss the busy moments (15 samples where 51-63 were taken from the other CPU, uvicorn
at 1,000 req/s here). From the driver's CPUs it costs the driver time instead, which the
run sees and says (lag, late arrivals, a driver-limited row).

py-spy reads another process's memory, which needs ptrace: :func:`ptrace_problem` says what
to change before any server starts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

from asgi_bench.results.layout import RepeatLayout
from asgi_bench.system.processes import ManagedProcess

RATE_HZ = 100  # py-spy's default: its cost is measured at this rate (README)
LEAD_S = 1.0  # attach this long before the window (at most half the warm-up)
TARGETS = ("server", "driver")
CAP_SYS_PTRACE = 19


def py_spy() -> str | None:
    """The py-spy binary of this environment (a dependency: its wheel carries it)."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def ptrace_problem(
    status: Path = Path("/proc/self/status"),
    scope: Path = Path("/proc/sys/kernel/yama/ptrace_scope"),
) -> str | None:
    """Why py-spy could not attach to the server from here, in one line, or None.

    py-spy is the server's sibling, not its parent: under Yama's ``ptrace_scope`` 1 or 2
    that takes ``CAP_SYS_PTRACE``, which a container has only when given it; 3 forbids it.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "status").write_text("CapEff:\\t0000000000000000\\n")
    >>> _ = (folder / "scope").write_text("1\\n")
    >>> ptrace_problem(folder / "status", folder / "scope")[:53]
    '--profile needs ptrace: kernel.yama.ptrace_scope is 1'
    """
    if py_spy() is None:
        return "--profile needs py-spy: pip install py-spy"
    level = _read_int(scope)
    capable = _has_capability(status, CAP_SYS_PTRACE)
    if level == 3:
        return "--profile needs ptrace: kernel.yama.ptrace_scope is 3 (no ptrace until reboot)"
    if level in (1, 2) and not capable:
        return (
            f"--profile needs ptrace: kernel.yama.ptrace_scope is {level} and this process "
            "lacks CAP_SYS_PTRACE; run as root, `sysctl kernel.yama.ptrace_scope=0`, or give "
            "the container `cap_add: [SYS_PTRACE]`"
        )
    if not capable and os.geteuid() == 0 and _in_container():
        return (
            "--profile needs ptrace: this container lacks CAP_SYS_PTRACE; give it "
            "`cap_add: [SYS_PTRACE]` (docker run --cap-add SYS_PTRACE)"
        )
    return None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None  # no Yama: classic ptrace rules, same user may attach


def _has_capability(status: Path, bit: int) -> bool:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def _in_container() -> bool:
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


def lead(warmup: float) -> float:
    """Seconds before the window that py-spy attaches: out of the window, inside the warm-up.

    >>> lead(5.0), lead(1.0)
    (1.0, 0.5)
    """
    return min(LEAD_S, warmup / 2)


def py_spy_argv(binary: str, output: Path | str, rate: int = RATE_HZ) -> list[str]:
    """py-spy's command line but the process to sample (``--pid PID``, appended)."""
    return [
        binary,
        "record",
        "--subprocesses",  # every worker of the tree, present and future
        "--gil",  # CPU on the Python side only: idle waits and GIL-free threads are not
        "--native",  # C and Rust frames under the Python ones (the kernel's write, uvloop)
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(output),
    ]


Stop = Callable[[], None]


@contextmanager
def spanned(layout: RepeatLayout, start: Callable[[], Stop]) -> Iterator[None]:
    """``start()`` a py-spy, run the block, call the stop it gave, and write when it started
    and stopped (the profile's span: its µs per request divide by the requests of that span,
    which a native step's window, starting when its warm-up ends, does not leave room to
    lead). A py-spy that cannot start is said in the repeat's py-spy log, not raised: a
    profile is never worth a repeat's figures."""
    layout.profile_raw.unlink(missing_ok=True)
    started = time.time()
    try:
        stop = start()
    except (OSError, ValueError) as exc:  # no py-spy, no Docker API, a refused exec
        layout.profile_log.write_text(f"py-spy did not start: {exc}\n")
        yield
        return
    try:
        yield
    finally:
        stopped = time.time()
        stop()
        span = {"start": started, "end": stopped}
        with suppress(OSError):  # a full disk: the analysis says the profile is missing
            layout.profile_span.write_text(json.dumps(span) + "\n")


def recording(
    pid: int, layout: RepeatLayout, cpus: Sequence[int] = (), rate: int = RATE_HZ
) -> AbstractContextManager[None]:
    """Sample ``pid``'s tree into the repeat's collapsed stacks until the block ends
    (:func:`spanned`). py-spy runs on ``cpus``. On the way out it gets SIGINT, on which it
    writes its file, and up to 10 s to do so."""

    def start() -> Stop:
        binary = py_spy()
        if binary is None:
            raise OSError("py-spy is not installed")
        argv = [*py_spy_argv(binary, layout.profile_raw, rate), "--pid", str(pid)]
        process = ManagedProcess(argv, layout.profile_log, cpus=cpus)

        def stop() -> None:
            process.stop(grace=10.0, sig=signal.SIGINT)

        return stop

    return spanned(layout, start)


def describe(target: str, warmup: float) -> dict[str, object]:
    """For run.json: what sampled, how often, how (the flags are a sample's meaning) and
    from how long before each window."""
    flags = [a for a in py_spy_argv("py-spy", "-") if a.startswith("--")]
    return {
        "target": target,
        "tool": version(),
        "rate_hz": RATE_HZ,
        "flags": flags,
        "lead_s": lead(warmup),
    }


def version() -> str | None:
    binary = py_spy()
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
