"""A throwaway PostgreSQL cluster on 127.0.0.1 for the db workload: made in a folder of its
own in the temporary folder with Debian's server binaries (``postgresql``), set up by the
statements given, and gone, folder and all, when the run ends (by the watchdog, if the
harness is killed).

As root it runs as the ``postgres`` user (or ``nobody``): PostgreSQL refuses to run as root.
It is one managed process tree, stopped by its pid like every server the harness starts.

Example::

    with throwaway_cluster(55432, ["CREATE TABLE t (id int)"]) as cluster:
        cluster.dsn  # "postgresql://bench@127.0.0.1:55432/postgres"
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from asgi_bench.errors import BenchError
from asgi_bench.system.processes import ManagedProcess
from asgi_bench.system.watchdog import scratch_dir

PG_BIN = "ASGI_BENCH_PG_BIN"  # a folder with initdb and postgres, instead of the search
READY_S = 30.0


class DatabaseError(BenchError):
    """The throwaway cluster could not be made or started."""


def server_binaries() -> Path | None:
    """The folder of ``initdb`` and ``postgres``: ``$ASGI_BENCH_PG_BIN``, else Debian's newest
    ``/usr/lib/postgresql/N/bin``, else the PATH's; None where there are none."""
    given = os.environ.get(PG_BIN)
    found = [given] if given else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major)[-1:]
    if not given and not found and shutil.which("initdb"):
        found = [str(Path(shutil.which("initdb") or "").resolve().parent)]
    for folder in found:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "postgres").is_file():
            return Path(folder)
    return None


def _major(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


@dataclass
class Cluster:
    dsn: str
    version: str
    process: ManagedProcess


@contextmanager
def throwaway_cluster(
    port: int, setup: Sequence[str], cpus: Sequence[int] = (), max_connections: int = 200
) -> Iterator[Cluster]:
    """A cluster listening on 127.0.0.1:``port``, ``setup`` run in its ``postgres`` database
    before it is handed over."""
    binaries = server_binaries()
    if binaries is None:
        raise DatabaseError("PostgreSQL's server is not installed (Debian's postgresql)")
    with scratch_dir("asgi-bench-pg-") as scratch:
        yield from _cluster(binaries, Path(scratch), port, setup, cpus, max_connections)


def _cluster(
    binaries: Path,
    folder: Path,
    port: int,
    setup: Sequence[str],
    cpus: Sequence[int],
    max_connections: int,
) -> Iterator[Cluster]:
    data = folder / "data"
    as_user = _run_as()
    if as_user:  # the folder is in the temporary folder, which every user can reach
        shutil.chown(folder, as_user, as_user)
    prefix = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--init-groups"]
    prefix = [*prefix, "--"] if as_user else []
    initdb = [
        *prefix,
        str(binaries / "initdb"),
        "-D",
        str(data),
        "-U",
        "bench",
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
    ]
    try:
        done = subprocess.run(initdb, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:  # no setpriv, a hung initdb
        raise DatabaseError(f"initdb could not run: {exc}") from exc
    if done.returncode != 0:
        raise DatabaseError(f"initdb failed: {(done.stderr or done.stdout).strip()[-300:]}")
    server = [
        *prefix,
        str(binaries / "postgres"),
        "-D",
        str(data),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        str(folder),  # its socket file too stays in the throwaway folder
        "-c",
        "fsync=off",  # a benchmark's table, rebuilt every run: nothing to keep safe
        "-c",
        f"max_connections={max_connections}",
    ]
    try:
        process = ManagedProcess(server, folder / "postgres.log", cpus=cpus)
    except OSError as exc:
        raise DatabaseError(f"postgres could not start: {exc}") from exc
    try:
        dsn = f"postgresql://bench@127.0.0.1:{port}/postgres"
        version = asyncio.run(_set_up(dsn, process, setup))
        yield Cluster(dsn, version, process)
    finally:
        process.stop(grace=10.0, sig=signal.SIGINT)  # PostgreSQL's fast shutdown


def _run_as() -> str | None:
    """The user the cluster runs as: None (this one) unless this is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise DatabaseError("running as root and there is no postgres or nobody user to run as")


async def _set_up(dsn: str, process: ManagedProcess, setup: Sequence[str]) -> str:
    import asyncpg

    deadline = time.monotonic() + READY_S
    while True:
        if process.poll() is not None:
            raise DatabaseError(f"postgres {process.describe_exit()}: {process.log_tail()[-300:]}")
        try:
            connection = await asyncpg.connect(dsn, timeout=2)
            break
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise DatabaseError(f"postgres not ready after {READY_S:.0f}s: {exc}") from exc
            await asyncio.sleep(0.1)
    try:
        for statement in setup:
            await connection.execute(statement)
        version: str = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return version
