"""Start one server config with one app as a local process, and know when it is ready.

Ready means the app answered HTTP 200 *and* the listening socket belongs to the server's own
process tree: a TCP connect is not enough, and neither is a 200 from some other process that
already held the port.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from asgi_bench.collectors.docker import DockerSampler, find_container
from asgi_bench.collectors.process import ProcessSampler, Sampler
from asgi_bench.errors import ServerStartError
from asgi_bench.http import get
from asgi_bench.procs import ManagedProcess, listens
from asgi_bench.servers import LaunchOptions, ServerSpec
from asgi_bench.tls import CertPair
from asgi_bench.workloads import Workload

WRAPPED_APP = "asgi_bench.collectors.wrapped:app"
MARKER_ENV = "ASGI_BENCH_LIFESPAN_MARKER"


@dataclass
class RunningServer:
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

    @property
    def metrics_url(self) -> str:
        return self.base_url + "/metrics"

    def exit_code(self) -> int | None:
        return self.process.poll()

    def owns_port(self) -> bool:
        return any(
            listens(connections, self.port) for connections in _tree_connections(self.process)
        )

    def log_tail(self) -> str:
        return self.process.log_tail()

    def stop(self, grace: float = 10.0) -> int | None:
        code = self.process.stop(grace)
        if self.multiproc_dir is not None:
            shutil.rmtree(self.multiproc_dir, ignore_errors=True)
        return code

    def sampler(self) -> Sampler | None:
        return ProcessSampler(self.process.pid)

    def shutdown_observed(self) -> bool | None:
        """Did the app's lifespan shutdown run (it appends to the marker file)?"""
        return self.marker.exists() and "shutdown" in self.marker.read_text()


@dataclass
class RemoteServer:
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
        # (asgi_bench.healthcheck) proves they hold the port.
        return True

    def log_tail(self) -> str:
        return ""

    def sampler(self) -> Sampler | None:
        try:
            container = find_container(self.spec.name)
        except OSError as exc:
            self.notes.append(f"CPU/RSS not measured: no Docker API ({exc})")
            return None
        if container is None:
            self.notes.append(f"CPU/RSS not measured: no container for {self.spec.name}")
            return None
        return DockerSampler(container)

    def stop(self, grace: float = 0.0) -> None:
        return None

    def shutdown_observed(self) -> bool | None:
        return None  # the server outlives the run


def attach_server(
    spec: ServerSpec, workload: Workload, root_url: str, timeout: float
) -> RemoteServer:
    server = RemoteServer(spec, workload, root_url)
    wait_ready(server, timeout)
    return server


def start_server(
    spec: ServerSpec,
    workload: Workload,
    port: int,
    cell_dir: Path,
    *,
    workers: int = 1,
    certs: CertPair | None = None,
    cpus: tuple[int, ...] = (),
    metrics: bool = True,
    ready_timeout: float = 30.0,
    host: str = "127.0.0.1",
) -> RunningServer:
    options = LaunchOptions(
        app=WRAPPED_APP if metrics else workload.app,
        host=host,
        port=port,
        workers=workers,
        certfile=str(certs.certfile) if certs else None,
        keyfile=str(certs.keyfile) if certs else None,
    )
    env = dict(os.environ)
    # The user's own app is imported from the directory asgi-bench was started in.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    marker = cell_dir / "lifespan-marker.txt"
    marker.unlink(missing_ok=True)
    env[MARKER_ENV] = str(marker)
    env["ASGI_BENCH_TARGET"] = workload.app
    env["ASGI_BENCH_SERVER"] = spec.name
    env["ASGI_BENCH_APP"] = workload.name
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    multiproc_dir = None
    if metrics and workers > 1:
        # A fresh directory per start, set before the workers import prometheus_client.
        multiproc_dir = cell_dir / "prometheus-multiproc"
        shutil.rmtree(multiproc_dir, ignore_errors=True)
        multiproc_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
    scheme = "https" if certs else "http"
    process = ManagedProcess(spec.argv(options), cell_dir / "server.log", env, cpus)
    server = RunningServer(
        spec, workload, process, f"{scheme}://{host}:{port}", port, marker, multiproc_dir
    )
    try:
        wait_ready(server, ready_timeout)
    except BaseException:
        server.stop(grace=3.0)
        raise
    return server


def wait_ready(server: RunningServer | RemoteServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_problem = "no answer"
    while time.monotonic() < deadline:
        code = server.exit_code()
        if code is not None:
            raise ServerStartError(
                f"{server.spec.name} exited with code {code} before it was ready",
                server.log_tail(),
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
