"""Run one cell of the matrix: one server config, one workload, bounded in time.

Whatever happens (a server that will not start, a driver failure, Ctrl+C) the server and
Locust trees are stopped before this returns or raises, and the cell's raw data stays in
its folder.
"""

from __future__ import annotations

import json
import socket
import traceback
from dataclasses import dataclass
from pathlib import Path

from asgi_bench.analysis import ClientStats, load_client_stats
from asgi_bench.collectors.process import Sampler
from asgi_bench.collectors.scrape import Scraper, Snapshot, quantile
from asgi_bench.config import HOST, RunConfig
from asgi_bench.driver import DriverSettings, LocustRun
from asgi_bench.errors import DriverError, ServerStartError
from asgi_bench.probes import Observation, run_probes
from asgi_bench.results import CellResult, write_cell
from asgi_bench.servers import LaunchOptions, ServerSpec
from asgi_bench.serving import RemoteServer, RunningServer, attach_server, start_server
from asgi_bench.tls import CertPair
from asgi_bench.workloads import Workload

DRIVER_BOUND_AT = 0.9


@dataclass
class CellPlan:
    spec: ServerSpec
    workload: Workload
    cell_dir: Path


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def run_cell(config: RunConfig, plan: CellPlan, certs: CertPair | None) -> CellResult:
    spec, workload = plan.spec, plan.workload
    cell = CellResult(spec.name, workload.name, workers=config.workers, tls=config.tls)
    plan.cell_dir.mkdir(parents=True, exist_ok=True)
    options = LaunchOptions(
        workload.app,
        HOST,
        0,
        config.workers,
        str(certs.certfile) if certs else None,
        str(certs.keyfile) if certs else None,
    )
    why_not = None if spec.available else f"not installed: {spec.install_hint}"
    why_not = why_not or spec.unsupported(options)
    if why_not:
        cell.status, cell.reason = "unsupported", why_not
        write_cell(plan.cell_dir, cell)
        return cell

    targets = config.target_urls()
    server: RunningServer | RemoteServer | None = None
    driver: LocustRun | None = None
    sampler: Sampler | None = None
    scraper: Scraper | None = None
    observations: list[Observation] = []
    try:
        server = (
            attach_server(spec, workload, targets[spec.name], config.ready_timeout)
            if targets
            else start_server(
                spec,
                workload,
                free_port(),
                plan.cell_dir,
                workers=config.workers,
                certs=certs,
                cpus=config.server_cpus,
                metrics=config.metrics,
                ready_timeout=config.ready_timeout,
            )
        )
        observations = run_probes(workload.probes, server.base_url)
        if certs is not None:
            observations.append(Observation("tls", True, "answered over HTTPS"))
        sampler = server.sampler()
        if sampler is not None:
            sampler.start()
        baseline = None
        if config.metrics:
            scraper = Scraper(
                server.metrics_url,
                plan.cell_dir / "scrapes.jsonl",
                route_prefix=server.route_prefix,
            )
            baseline = scraper.scrape()
            scraper.start()
        settings = DriverSettings(
            users=config.users,
            spawn_rate=config.spawn_rate,
            warmup=config.warmup,
            duration=config.duration,
            processes=config.driver_processes,
            stop_timeout=config.stop_timeout,
            cpus=config.driver_cpus,
        )
        driver = LocustRun(workload, server.base_url, plan.cell_dir, settings)
        driver.wait()
        driver_sampler, driver = driver.sampler, None
        stats = load_client_stats(plan.cell_dir)
        final = scraper.drained() if scraper else None
        _fill_client(cell, stats, plan.cell_dir)
        _fill_costs(cell, stats, sampler, driver_sampler, config)
        if scraper is not None:
            _fill_server(cell, stats, scraper, baseline, final, workload)
        cell.status, cell.reason = _judge(cell, config)
    except ServerStartError as exc:
        cell.status, cell.reason, cell.log_tail = "failed", str(exc), exc.log_tail
    except DriverError as exc:
        cell.status, cell.reason = "failed", str(exc)
    except KeyboardInterrupt:
        cell.status, cell.reason = "failed", "interrupted (Ctrl+C)"
        raise
    except Exception as exc:  # a bug: keep it in the cell, let the run go on
        cell.status, cell.reason = "failed", f"internal error: {type(exc).__name__}: {exc}"
        (plan.cell_dir / "traceback.txt").write_text(traceback.format_exc())
    finally:
        if driver is not None:
            driver.stop()
        if scraper is not None:
            scraper.stop()
        if sampler is not None:
            sampler.stop()
            sampler.write(plan.cell_dir / "server-samples.jsonl")
        if server is not None:
            server.stop()
            shut = server.shutdown_observed()
            if "lifespan_startup" in workload.probes and shut is not None:
                detail = "marker written" if shut else "no marker"
                observations.append(Observation("lifespan_shutdown", shut, detail))
            if server.notes and cell.status == "ok":
                cell.reason = "; ".join(filter(None, [cell.reason, *server.notes]))
        cell.capabilities = {o.capability: o.ok for o in observations}
        cell.capability_details = {o.capability: o.detail for o in observations}
        _unsupported_capability(cell, spec, workload)
        write_cell(plan.cell_dir, cell)
    return cell


def _fill_client(cell: CellResult, stats: ClientStats, cell_dir: Path) -> None:
    cell.requests = stats.requests
    cell.total_requests = stats.total_requests
    cell.window_s = stats.window.seconds
    cell.rps = stats.rps
    for key, value in stats.latency_ms.items():
        setattr(cell, key, value)
    cell.errors = stats.errors
    cell.non_2xx = stats.errors_by_kind.get("non_2xx", 0)
    cell.wrong_body = stats.errors_by_kind.get("wrong_body", 0)
    cell.exceptions = stats.errors_by_kind.get("exceptions", 0)
    client = {
        "window": [stats.window.start, stats.window.end],
        "test_start": stats.test_start,
        "series": stats.series,
        "entries_ms": stats.entries_ms,
        "histogram_hdr_base64": stats.histogram,
    }
    (cell_dir / "client.json").write_text(json.dumps(client, indent=1))


def _fill_costs(
    cell: CellResult,
    stats: ClientStats,
    server: Sampler | None,
    driver: Sampler,
    config: RunConfig,
) -> None:
    start, end = stats.window.start, stats.window.end
    seconds = stats.window.seconds
    if server is not None:
        server_cpu = server.cpu_between(start, end)
        cell.peak_rss_mb = server.peak_rss() / 2**20
        if stats.requests:
            cell.cpu_us_per_request = server_cpu * 1e6 / stats.requests
        if seconds:
            cell.server_cpu_busy = server_cpu / seconds / max(1, len(config.server_cpus))
    if seconds:
        # The load comes from min(processes, cores) busy processes at the most.
        capacity = min(config.driver_processes, max(1, len(config.driver_cpus)))
        cell.driver_busy = driver.cpu_between(start, end) / seconds / capacity
        cell.driver_bound = cell.driver_busy >= DRIVER_BOUND_AT


def _fill_server(
    cell: CellResult,
    stats: ClientStats,
    scraper: Scraper,
    baseline: Snapshot | None,
    final: Snapshot | None,
    workload: Workload,
) -> None:
    first, last = scraper.at(stats.window.start), scraper.at(stats.window.end)
    if first is not None and last is not None and last.t > first.t:
        cell.server_p50_ms = quantile(0.50, first.duration, last.duration) * 1000
        cell.server_p90_ms = quantile(0.90, first.duration, last.duration) * 1000
        cell.server_p99_ms = quantile(0.99, first.duration, last.duration) * 1000
        cell.server_ttfb_p50_ms = quantile(0.50, first.ttfb, last.ttfb) * 1000
    if baseline is None or final is None:
        return
    if workload.count_unit == "ws_messages":
        counted = final.ws_messages_in - baseline.ws_messages_in
    else:
        counted = final.requests - baseline.requests
    cell.server_requests = round(counted)
    cell.count_match = cell.server_requests == stats.total_requests


def _judge(cell: CellResult, config: RunConfig) -> tuple[str, str]:
    if cell.requests == 0:
        return "failed", "no request completed in the measured window"
    failed_share = cell.errors / max(cell.requests, 1)
    if failed_share > config.max_error_rate:
        kinds = (
            f"non-2xx {cell.non_2xx}, wrong body {cell.wrong_body}, exceptions {cell.exceptions}"
        )
        return "failed", f"{failed_share:.0%} of requests failed ({kinds})"
    notes = []
    if cell.driver_bound:
        notes.append(f"driver {cell.driver_busy:.0%} busy: throughput is a lower bound")
    if cell.count_match is False:
        notes.append(f"count mismatch: Locust {cell.total_requests}, server {cell.server_requests}")
    return "ok", "; ".join(notes)


def _unsupported_capability(cell: CellResult, spec: ServerSpec, workload: Workload) -> None:
    """A workload that needs what the server neither claims nor was seen to do."""
    if cell.status != "ok":
        return
    for need in sorted(workload.needs - spec.supports):
        observed = [ok for cap, ok in cell.capabilities.items() if cap.startswith(need)]
        if observed and not all(observed):
            cell.status = "unsupported"
            cell.reason = f"{spec.name} does not support {need}: " + ", ".join(
                f"{cap} {cell.capability_details[cap]}"
                for cap, ok in cell.capabilities.items()
                if cap.startswith(need) and not ok
            )
