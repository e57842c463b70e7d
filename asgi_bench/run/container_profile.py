"""``--profile`` under compose: py-spy runs inside each server's own container.

From the bench's container py-spy can read a server's Python frames (given the host's pid
namespace) but not its native ones: every native sample failed there (0 samples, 148
errors), its libraries being in another mount namespace. Started in the server's container
through the Docker API's exec, py-spy sees the server as a local run does, native frames
included, and needs nothing of the bench but the Docker socket it already has for CPU and
memory. The server's container needs ``SYS_PTRACE`` (docker-compose.profile.yml adds it):
:func:`container_problem` says so before any load.

py-spy's output goes to a folder of its own in the container's /tmp and comes back through
the API's archive of that folder; it is given ``--duration`` so it stops by itself should the
bench die before its SIGINT.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

from asgi_bench.results.layout import RepeatLayout
from asgi_bench.run import docker
from asgi_bench.run.profiler import RATE_HZ, Stop, py_spy_argv, spanned

STOP_GRACE_S = 10.0  # py-spy's time to write its file after SIGINT (as a local run's)
COMPOSE_PROFILE = "docker-compose -f docker-compose.yml -f docker-compose.profile.yml"

# $0: py-spy's folder, "$@": its command line. The server is pid 1's child (compose's
# `init: true` makes pid 1 docker-init, whose child is `asgi-bench serve`), or pid 1 itself
# where the container has no init; --subprocesses takes in the server under it.
START = (
    'mkdir -p "$0" && echo $$ > "$0/pid" && '
    'pid=$(cut -d" " -f1 /proc/1/task/1/children 2>/dev/null); '
    'exec "$@" --pid "${pid:-1}" > "$0/log" 2>&1'
)
STOP = 'kill -INT "$(cat "$0/pid")"'
KILL = 'kill -KILL "$(cat "$0/pid")" 2>/dev/null; rm -rf "$0"'


def container_problem(names: Sequence[str]) -> str | None:
    """Why py-spy could not sample these compose services' servers, in one line, or None.

    Each needs a running container (found by its compose service label) given SYS_PTRACE.
    """
    try:
        for name in names:
            container = docker.find_container(name)
            if container is None:
                return (
                    f"--profile server with --targets samples each server in its compose "
                    f"container; no running container of service {name!r}"
                )
            if not docker.capabilities(container) & {"SYS_PTRACE", "ALL"}:
                return (
                    f"--profile needs ptrace in the servers' containers; {name!r} lacks "
                    f"SYS_PTRACE: start them with `{COMPOSE_PROFILE} up bench`"
                )
    except (OSError, ValueError) as exc:
        return f"--profile server with --targets needs the Docker API ({exc})"
    return None


def recording_in(
    container: str,
    layout: RepeatLayout,
    bound: float,
    cpus: Sequence[int] = (),
    rate: int = RATE_HZ,
) -> AbstractContextManager[None]:
    """Sample the server in ``container`` into the repeat's files until the block ends, as
    :func:`asgi_bench.run.profiler.recording` does locally; py-spy stops by itself after
    ``bound`` seconds. Output that cannot be fetched is said in the repeat's py-spy log."""
    folder = f"/tmp/asgi-bench-profile-{uuid.uuid4().hex[:12]}"
    argv = py_spy_argv("py-spy", f"{folder}/profile.txt", rate)
    argv[2:2] = ["--duration", str(math.ceil(bound))]
    if cpus:
        argv = ["taskset", "-c", ",".join(map(str, cpus)), *argv]

    def start() -> Stop:
        try:
            sampling = docker.docker_exec(container, ["sh", "-c", START, folder, *argv])
        except (KeyError, TypeError) as exc:  # an exec reply without its id
            raise OSError(f"Docker API: {exc!r}") from exc

        def stop() -> None:
            try:
                _stop(container, sampling, folder, layout)
            except Exception as exc:  # a truncated archive, a dropped API call: no profile
                layout.profile_log.write_text(f"py-spy's profile did not come back: {exc!r}\n")

        return stop

    return spanned(layout, start)


def _stop(container: str, sampling: str, folder: str, layout: RepeatLayout) -> None:
    """SIGINT, up to STOP_GRACE_S for py-spy to write, its files back, and then, whatever
    happened, SIGKILL for a py-spy still there and its folder gone: none samples on into the
    next repeat's window."""
    try:
        docker.docker_exec(container, ["sh", "-c", STOP, folder])
        deadline = time.monotonic() + STOP_GRACE_S
        while docker.exec_running(sampling) and time.monotonic() < deadline:
            time.sleep(0.1)
        files: Mapping[str, bytes] = docker.container_files(container, folder)
        layout.profile_log.write_bytes(files.get("log", b""))
        if "profile.txt" in files:
            layout.profile_raw.write_bytes(files["profile.txt"])
    finally:
        docker.docker_exec(container, ["sh", "-c", KILL, folder])
