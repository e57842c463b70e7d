"""Start one server config with one app as a local process, and know when it is ready.

Ready means the app answered HTTP 200 *and* the listening socket belongs to the server's own
process tree: a TCP connect is not enough, and neither is a 200 from some other process that
already held the port.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from asgi_bench.errors import ServerStartError
from asgi_bench.http import get
from asgi_bench.procs import ManagedProcess
from asgi_bench.servers import LaunchOptions, ServerSpec
from asgi_bench.tls import CertPair
from asgi_bench.workloads import Workload
from collectors.docker import DockerSampler, find_container
from collectors.process import ProcessSampler, Sampler

WRAPPED_APP = "collectors.wrapped:app"
MARKER_ENV = "ASGI_BENCH_LIFESPAN_MARKER"


@dataclass
class RunningServer:
    spec: ServerSpec
    workload: Workload
    process: ManagedProcess
    base_url: str
    marker: Path
    multiproc_dir: Path | None

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
    """A server someone else runs (a compose service): nothing to start or stop."""

    spec: ServerSpec
    workload: Workload
    base_url: str
    notes: list[str]

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
    spec: ServerSpec, workload: Workload, target: str, timeout: float
) -> RemoteServer:
    server = RemoteServer(spec, workload, target + workload.mount, [])
    deadline = time.monotonic() + timeout
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            reply = get(server.base_url + "/", timeout=1.0)
            if reply.status == 200:
                return server
            problem = f"HTTP {reply.status}"
        except OSError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise ServerStartError(
        f"{spec.name} at {server.base_url} not ready after {timeout:.0f}s ({problem})"
    )


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
        spec, workload, process, f"{scheme}://{host}:{port}", marker, multiproc_dir
    )
    try:
        wait_ready(server, port, ready_timeout)
    except BaseException:
        server.stop(grace=3.0)
        raise
    return server


def wait_ready(server: RunningServer, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_problem = "no answer"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise ServerStartError(
                f"{server.spec.name} exited with code {code} before it was ready",
                server.process.log_tail(),
            )
        try:
            reply = get(server.base_url + server.workload.ready_path, timeout=1.0)
        except OSError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if reply.status == 200 and _listens_on(server.process, port):
                return
            last_problem = f"HTTP {reply.status}"
            if reply.status == 200:
                last_problem = f"port {port} answers, but not from {server.spec.name}'s processes"
        time.sleep(0.05)
    raise ServerStartError(
        f"{server.spec.name} not ready after {timeout:.0f}s ({last_problem})",
        server.process.log_tail(),
    )


def _listens_on(process: ManagedProcess, port: int) -> bool:
    for proc in process.remember_tree():
        try:
            connections = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
            return True
    return False
