"""Helpers for tests that start real servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asgi_bench.cell import free_port
from asgi_bench.servers import SERVERS, get_server
from asgi_bench.serving import RunningServer, start_server
from asgi_bench.tls import CertPair
from asgi_bench.workloads import serve_workload

ALL = list(SERVERS)
MULTI_WORKER = ["uvicorn", "hypercorn", "granian"]


@contextmanager
def running(
    server: str,
    app: str,
    tmp: Path,
    *,
    metrics: bool = True,
    workers: int = 1,
    certs: CertPair | None = None,
) -> Iterator[RunningServer]:
    spec = get_server(server)
    cell_dir = tmp / f"{server}-{app}-{'m' if metrics else 'bare'}"
    cell_dir.mkdir(parents=True, exist_ok=True)
    proc = start_server(
        spec,
        serve_workload(app),
        free_port(),
        cell_dir,
        workers=workers,
        certs=certs,
        metrics=metrics,
    )
    try:
        yield proc
    finally:
        proc.stop()
