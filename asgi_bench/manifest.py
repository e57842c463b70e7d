"""Provenance: where a result came from, stamped into every run's ``run.json``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from asgi_bench.config import RunConfig
from asgi_bench.servers import SERVERS, get_server

PACKAGES = (
    "asgi-bench",
    "locust",
    "prometheus-client",
    "uvloop",
    "httptools",
    "h11",
    "websockets",
    "gevent",
    "hdrhistogram",
    "matplotlib",
    "psutil",
)

REPO_DIR = Path(__file__).resolve().parent.parent


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_sha() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    if sha is None:  # an installed copy, e.g. in the container image: stamped at build time
        return {"sha": os.environ.get("ASGI_BENCH_GIT_SHA"), "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def host_info() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "cpus_available": sorted(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "memory_bytes": psutil.virtual_memory().total,
        "kernel": platform.release(),
        "platform": platform.platform(),
    }


def build_manifest(config: RunConfig, run_id: str, cells_planned: list[str]) -> dict[str, Any]:
    servers = {}
    for name in SERVERS:
        spec = get_server(name)
        servers[name] = {"package": spec.module, "version": spec.version, "notes": spec.notes}
    return {
        "run_id": run_id,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "mode": "instrumented" if config.metrics else "bare",
        "cpu_split": {"server": list(config.server_cpus), "driver": list(config.driver_cpus)},
        "python": {
            "version": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "servers": servers,
        "packages": {name: _version(name) for name in PACKAGES},
        "host": host_info(),
        "git": git_sha(),
        "cells_planned": cells_planned,
        "started_at": None,
        "finished_at": None,
        "interrupted": False,
    }
