"""Render metrics for a scrape: text or OpenMetrics, gzip when asked, single or multiprocess."""

from __future__ import annotations

import gzip
import os
import re

import psutil
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db\Z")


def render(
    registry: CollectorRegistry,
    multiproc_dir: str | None,
    accept: str,
    accept_encoding: str,
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    if multiproc_dir:
        remove_dead_workers(multiproc_dir)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept)
    body: bytes = encoder(registry)
    headers = [(b"content-type", content_type.encode())]
    if "gzip" in accept_encoding:
        body = gzip.compress(body, compresslevel=5)
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    return body, headers


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
