"""What a scrape returns: Prometheus text (or OpenMetrics, gzip when asked) for Grafana and
Prometheus, and the JSON state the harness reads at a window's edges."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import time
from typing import Any

import psutil
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from asgi_bench.collectors import compiled
from asgi_bench.collectors.store import LocalStore, SharedStore

_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db\Z")
STATE_SCHEMA = 1


def registry_for_scrape(
    registry: CollectorRegistry, multiproc_dir: str | None, store_collector: Any
) -> CollectorRegistry:
    """The registry to render: this process's, or every worker's in multiprocess mode."""
    if not multiproc_dir:
        return registry
    remove_dead_workers(multiproc_dir)
    merged = merged_registry(multiproc_dir)
    merged.register(store_collector)
    return merged


def merged_registry(multiproc_dir: str) -> CollectorRegistry:
    """Every worker's prometheus-client metrics, read from their files in ``multiproc_dir``."""
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=multiproc_dir)  # type: ignore[no-untyped-call]
    return merged


def render(
    registry: CollectorRegistry, accept: str, accept_encoding: str
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    encoder, content_type = choose_encoder(accept)
    body: bytes = encoder(registry)
    headers = [(b"content-type", content_type.encode())]
    if "gzip" in accept_encoding:
        body = gzip.compress(body, compresslevel=5)
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    return body, headers


def render_state(store: LocalStore | SharedStore, metrics: Any, labels: tuple[str, str]) -> bytes:
    """The harness's view: totals and fine histograms per series, requests in progress,
    lifespan failures (from ``metrics``' asgi_lifespan_events family: the lifespan counter
    itself, or a registry holding it), and the CPU seconds of every worker process, read now."""
    cpu = 0.0
    pids = store.worker_pids()
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        cpu += times.user + times.system
    failed = 0.0
    for family in metrics.collect():
        if family.name != "asgi_lifespan_events":
            continue
        failed += sum(
            s.value
            for s in family.samples
            if s.name.endswith("_total") and s.labels.get("outcome") != "complete"
        )
    started, started_h2 = store.started()
    state = {
        "schema": STATE_SCHEMA,
        "t": time.time(),
        "host": socket.gethostname(),
        "server": labels[0],
        "app": labels[1],
        "workers": pids,
        "middleware": compiled.which(),  # mypyc or python
        "cpu_s": cpu,
        "in_progress": store.in_progress(),
        "started": started,
        "started_h2": started_h2,
        "lifespan_failed": failed,
        "series": [s.to_json() for s in store.series()],
    }
    return json.dumps(state).encode()


def remove_dead_workers(multiproc_dir: str) -> list[int]:
    """Drop the live-gauge files of workers that are gone, so in-progress gauges stay true.

    Counters and histograms of dead workers are kept: their requests did happen.
    """
    dead = set()
    for name in os.listdir(multiproc_dir):
        match = _LIVE_GAUGE_FILE.match(name)
        if match and not psutil.pid_exists(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, multiproc_dir)  # type: ignore[no-untyped-call]
    return sorted(dead)
