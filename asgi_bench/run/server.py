"""Servers under test, behind one :class:`Server` protocol: started here as a local process
tree (:class:`LocalServer`) or already running elsewhere (:class:`AttachedServer`).

Ready means the app answered HTTP 200 *and* the listening socket belongs to the server's own
process tree: a TCP connect is not enough, and neither is a 200 from some other process that
already held the port.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import psutil

from asgi_bench import envvars
from asgi_bench.errors import ServerStartError
from asgi_bench.results.layout import RepeatLayout
from asgi_bench.run.docker import DockerSampler, find_container
from asgi_bench.run.samplers import ProcessSampler, Sampler
from asgi_bench.servers import LaunchOptions, ServerSpec
from asgi_bench.system.http import get
from asgi_bench.system.processes import ManagedProcess, describe_exit, explain, listens, user_env
from asgi_bench.system.tls import CertPair
from asgi_bench.workloads import Workload

WRAPPED_APP = "asgi_bench.collectors.wrapped:app"


class Server(Protocol):
    """What a measurement needs from a server, however it runs."""

    spec: ServerSpec
    workload: Workload
    notes: list[str]

    @property
    def base_url(self) -> str:
        """Where the workload's app answers, e.g. ``http://127.0.0.1:8000``."""

    @property
    def metrics_url(self) -> str:
        """The middleware's Prometheus endpoint."""

    @property
    def route_prefix(self) -> str:
        """Route labels of this workload start with it (``""``: the server runs it alone)."""

    def mark_load_start(self) -> None:
        """Remember the process tree that serves the load."""

    def problem(self) -> str | None:
        """Why the server stopped being the one that was measured, or None."""

    def log_tail(self) -> str: ...

    def sampler(self) -> Sampler | None:
        """A sampler of the server's CPU and memory, or None (the reason goes in ``notes``)."""

    def shutdown_observed(self) -> bool | None:
        """Did the app's lifespan shutdown run? None when it cannot be known."""

    def close(self) -> None:
        """Stop what was started here; nothing for a server started elsewhere."""


@dataclass
class LocalServer:
    """A server this harness started, as a local process tree on ``port``."""

    spec: ServerSpec
    workload: Workload
    process: ManagedProcess
    base_url: str
    port: int
    marker: Path
    multiproc_dir: Path | None
    route_prefix = ""  # the server runs this workload's app alone
    notes: list[str] = field(default_factory=list)
    _tree: dict[int, psutil.Process] = field(default_factory=dict)

    @property
    def metrics_url(self) -> str:
        return self.base_url + "/metrics"

    def exit_code(self) -> int | None:
        return self.process.poll()

    def owns_port(self) -> bool:
        return any(listens(conns, self.port) for conns in _tree_connections(self.process))

    def log_tail(self) -> str:
        return self.process.log_tail()

    def mark_load_start(self) -> None:
        self._tree = {p.pid: p for p in self.process.remember_tree()}

    def problem(self) -> str | None:
        code = self.process.poll()
        if code is not None:
            return f"{self.spec.name} {describe_exit(code)} under load"
        for pid, proc in self._tree.items():
            try:
                gone = not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
            except psutil.Error:
                gone = True
            if gone:
                return f"{self.spec.name} worker process {pid} exited under load"
        return None

    def close(self) -> None:
        self.process.stop(grace=10.0)
        if self.multiproc_dir is not None:
            shutil.rmtree(self.multiproc_dir, ignore_errors=True)

    def sampler(self) -> Sampler | None:
        return ProcessSampler(self.process.pid)

    def shutdown_observed(self) -> bool | None:
        """Did the app's lifespan shutdown run (it appends to the marker file)?"""
        try:
            return "shutdown" in self.marker.read_text()
        except OSError:
            return False

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class AttachedServer:
    """A server someone else runs (a compose service at ``root_url``, every app mounted
    under its prefix): nothing to start or stop."""

    spec: ServerSpec
    workload: Workload
    root_url: str
    notes: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.root_url + self.workload.mount

    @property
    def metrics_url(self) -> str:
        return self.root_url + "/metrics"

    @property
    def route_prefix(self) -> str:
        return self.workload.mount  # the server is shared by every app

    def exit_code(self) -> int | None:
        return None  # not ours to watch

    def owns_port(self) -> bool:
        # Its processes are in another container; that container's health check
        # (asgi_bench.system.healthcheck) proves they hold the port.
        return True

    def log_tail(self) -> str:
        return ""

    def mark_load_start(self) -> None:
        return None

    def problem(self) -> str | None:
        return None

    def container(self, purpose: str = "not profiled") -> str | None:
        """Its compose container (by service name); None, with a note saying ``purpose``,
        where there is none or no Docker API to find it."""
        try:
            container = find_container(self.spec.name)
        except OSError as exc:
            self.notes.append(f"{purpose}: no Docker API ({exc})")
            return None
        if container is None:
            self.notes.append(f"{purpose}: no container for {self.spec.name}")
        return container

    def sampler(self) -> Sampler | None:
        container = self.container("CPU/RSS not measured")
        return DockerSampler(container) if container else None

    def shutdown_observed(self) -> bool | None:
        return None  # the server outlives the run

    def close(self) -> None:
        return None

    def __enter__(self) -> AttachedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def attach_server(
    spec: ServerSpec, workload: Workload, root_url: str, timeout: float
) -> AttachedServer:
    server = AttachedServer(spec, workload, root_url)
    wait_ready(server, timeout)
    return server


def start_server(
    spec: ServerSpec,
    workload: Workload,
    port: int,
    work_dir: Path,
    *,
    workers: int = 1,
    certs: CertPair | None = None,
    cpus: tuple[int, ...] = (),
    metrics: bool = True,
    ready_timeout: float = 30.0,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    raw_paths: bool = True,
    http: str = "1.1",
    time_calls: bool = False,
    pure_middleware: bool = False,
) -> LocalServer:
    """Start ``spec`` serving ``workload`` and wait until it is ready; on failure nothing is
    left running and :class:`ServerStartError` quotes the log line that explains it."""
    options = LaunchOptions(
        app=WRAPPED_APP if metrics else workload.app,
        host=host,
        port=port,
        workers=workers,
        certfile=str(certs.certfile) if certs else None,
        keyfile=str(certs.keyfile) if certs else None,
        http=http,
    )
    files = RepeatLayout(work_dir)  # a repeat's folder, or serve's scratch folder
    marker = files.lifespan_marker
    marker.unlink(missing_ok=True)
    env = user_env(
        {
            envvars.LIFESPAN_MARKER: str(marker),
            envvars.TARGET: workload.app,
            envvars.SERVER: spec.name,
            envvars.APP: workload.name,
            envvars.RAW_PATHS: "1" if raw_paths else "0",
            envvars.TIME_CALLS: "1" if time_calls else "0",
        }
    )
    if pure_middleware:  # else the caller's own ASGI_BENCH_PURE_MIDDLEWARE holds
        env[envvars.PURE_MIDDLEWARE] = "1"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    multiproc_dir = None
    if metrics and workers > 1:
        # A fresh directory per start, set before the workers import prometheus_client.
        multiproc_dir = files.multiproc_dir
        shutil.rmtree(multiproc_dir, ignore_errors=True)
        multiproc_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
    scheme = "https" if certs else "http"
    # A server listening on every interface is still reached (and checked) on loopback.
    reach = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    url_host = f"[{reach}]" if ":" in reach else reach
    process: ManagedProcess | None = None
    try:
        process = ManagedProcess(spec.argv(options), log_path or files.server_log, env, cpus)
        server = LocalServer(
            spec, workload, process, f"{scheme}://{url_host}:{port}", port, marker, multiproc_dir
        )
        wait_ready(server, ready_timeout)
    except BaseException:
        # Whatever stops the start (it failed, or a signal came) stops the process with it.
        if process is not None:
            process.stop()
        raise
    return server


def wait_ready(server: LocalServer | AttachedServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_problem = "no answer"
    while time.monotonic() < deadline:
        code = server.exit_code()
        if code is not None:
            tail = server.log_tail()
            why = explain(tail)
            raise ServerStartError(
                f"{server.spec.name} {describe_exit(code)} before it was ready"
                + (f": {why}" if why else ""),
                tail,
            )
        try:
            reply = get(server.base_url + server.workload.ready_path, timeout=1.0)
        except OSError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if reply.status == 200 and server.owns_port():
                return
            last_problem = f"HTTP {reply.status}"
            if reply.status == 200:
                last_problem = (
                    f"{server.base_url} answers, but not from {server.spec.name}'s processes"
                )
        time.sleep(0.05)
    raise ServerStartError(
        f"{server.spec.name} at {server.base_url} not ready after {timeout:.0f}s ({last_problem})",
        server.log_tail(),
    )


def _tree_connections(process: ManagedProcess) -> Iterator[list[Any]]:
    for proc in process.remember_tree():
        try:
            yield proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
