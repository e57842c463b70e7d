"""Helpers for tests that start real servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.repeat import Repeat
from asgi_bench.run.plan import Job
from asgi_bench.run.resources import LocalResources, free_port
from asgi_bench.run.runner import run_job
from asgi_bench.run.server import LocalServer, start_server
from asgi_bench.servers import SERVERS, ServerSpec, get_server
from asgi_bench.system.tls import CertPair
from asgi_bench.workloads import Workload, serve_workload


def installed(names: list[str]) -> list[object]:
    """Server names as test parameters, each skipped when its server is not installed."""
    return [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                not get_server(name).available, reason=f"{name} is not installed"
            ),
        )
        for name in names
    ]


ALL = installed(list(SERVERS))
MULTI_WORKER = installed(["uvicorn", "hypercorn", "granian", "gunicorn-uvicorn", "gunicorn"])


@contextmanager
def running(
    server: str,
    app: str | Workload,
    tmp: Path,
    *,
    metrics: bool = True,
    workers: int = 1,
    certs: CertPair | None = None,
    http: str = "1.1",
) -> Iterator[LocalServer]:
    spec = get_server(server)
    workload = serve_workload(app) if isinstance(app, str) else app
    work = tmp / f"{server}-{workload.name}-{'m' if metrics else 'bare'}"
    work.mkdir(parents=True, exist_ok=True)
    with start_server(
        spec,
        workload,
        free_port(),
        work,
        workers=workers,
        certs=certs,
        metrics=metrics,
        http=http,
    ) as server_:
        yield server_


def measure_one(config: RunConfig, spec: ServerSpec, workload: Workload) -> Repeat:
    """One repeat of ``spec`` x ``workload`` through the real lifecycle, in ``config.out``."""
    settings = config.load()
    job = Job(spec, workload, next(iter(settings.steps.values()))[0], 1, 0)
    return run_job(settings, job, RunLayout(config.out), LocalResources(settings, None))
