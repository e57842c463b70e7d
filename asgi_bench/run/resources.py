"""The real resources of a measurement: local servers (or attached ones), Locust, probes and
the middleware's counters. Tests swap this for fakes (see ``tests/fakes.py``)."""

from __future__ import annotations

import socket
from contextlib import AbstractContextManager, nullcontext

from asgi_bench.config import Settings
from asgi_bench.load.native import Native
from asgi_bench.results.layout import RepeatLayout
from asgi_bench.run.capabilities import Observation, run_probes
from asgi_bench.run.container_profile import recording_in
from asgi_bench.run.driver import DriverSettings, LocustRun
from asgi_bench.run.lifecycle import Driver, wait_until
from asgi_bench.run.native import NativeRun, native_client_stats
from asgi_bench.run.plan import Job
from asgi_bench.run.profiler import lead, recording
from asgi_bench.run.server import (
    AttachedServer,
    LocalServer,
    Server,
    attach_server,
    start_server,
)
from asgi_bench.run.state import StateReader
from asgi_bench.run.verify import verify
from asgi_bench.system.tls import CertPair
from asgi_bench.verdict.client import ClientStats, load_client_stats


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class LocalResources:
    def __init__(self, settings: Settings, certs: CertPair | None) -> None:
        self.settings = settings
        self.config = settings.config
        self.certs = certs
        self.driver_settings = DriverSettings(
            warmup=settings.warmup,
            duration=settings.duration,
            processes=settings.driver_processes,
            stop_timeout=self.config.stop_timeout,
            cpus=settings.driver_cpus,
            bind=self.config.master_bind,
            port=self.config.master_port if self.config.expect_workers else 0,
            expect_workers=self.config.expect_workers,
            workers_timeout=self.config.workers_timeout,
        )

    def server(self, job: Job, layout: RepeatLayout) -> AbstractContextManager[Server]:
        layout.dir.mkdir(parents=True, exist_ok=True)
        if self.settings.targets:
            root = self.settings.targets[job.spec.name]
            return attach_server(job.spec, job.workload, root, self.config.ready_timeout)
        return start_server(
            job.spec,
            job.workload,
            free_port(self.settings.host),
            layout.dir,
            workers=self.config.workers,
            certs=self.certs,
            cpus=self.settings.server_cpus,
            metrics=self.config.instrumented(job.bare),
            ready_timeout=self.config.ready_timeout,
            host=self.settings.host,
            log_path=layout.server_log,
            raw_paths=self.config.raw_paths,
            http=job.step.http.version,
            time_calls=self.config.profile is not None,  # the in-app split, beside the profile
            pure_middleware=self.config.pure_middleware,
        )

    def probe(self, server: Server, job: Job) -> list[Observation]:
        protocol = job.step.http.probe(self.config.tls)
        names = (
            *job.workload.probes,
            *(("tls",) if self.config.tls else ()),
            *((protocol,) if protocol else ()),
        )
        seen = run_probes(names, server.base_url)
        if job.workload.verify:  # the answers the load will check, checked before it
            seen.extend(verify(job.workload, server.base_url))
        return seen

    def counters(self, server: Server, job: Job, layout: RepeatLayout) -> StateReader | None:
        if not self.config.instrumented(job.bare):
            return None
        return StateReader(server.metrics_url + "/state", server.route_prefix)

    def driver(self, job: Job, layout: RepeatLayout, server: Server) -> LocustRun | NativeRun:
        if isinstance(job.step, Native):
            url = server.base_url + (job.workload.native_path or "/")
            return NativeRun(job.step, url, layout, self.driver_settings)
        return LocustRun(job.workload, job.step, server.base_url, layout, self.driver_settings)

    def client_stats(self, layout: RepeatLayout) -> ClientStats:
        if layout.native_json.exists():
            return native_client_stats(layout)
        return load_client_stats(layout)

    def profiler(
        self, job: Job, layout: RepeatLayout, server: Server, driver: Driver, start: float
    ) -> AbstractContextManager[object]:
        """py-spy on the server's tree (from the driver's CPUs) or on Locust's (from the
        server's), from its lead before ``start`` until the block ends; nothing without
        --profile, or where there is no Python process to sample (a native tool). An
        attached server is sampled in its compose container (``container_profile``)."""
        target = self.config.profile
        process = container = None
        if target == "server" and isinstance(server, LocalServer):
            process, cpus = server.process, self.settings.driver_cpus
        elif target == "server" and isinstance(server, AttachedServer):
            container, cpus = server.container(), self.settings.driver_cpus
        elif target == "driver" and isinstance(driver, LocustRun):
            process, cpus = driver.process, self.settings.server_cpus
        if process is None and container is None:
            return nullcontext()
        ahead = lead(self.settings.warmup)
        wait_until(start - ahead)
        if container is not None:
            bound = ahead + self.settings.duration + 60  # stops by itself if we do not
            return recording_in(container, layout, bound, cpus)
        assert process is not None
        return recording(process.pid, layout, cpus)
