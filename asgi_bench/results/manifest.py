"""Provenance: where a result came from, stamped into every run's ``run.json``.

* the harness: its version and, when it runs from its own checkout, that checkout's git sha
  (never the sha of whatever repository the user happens to stand in);
* the user's side: the folder the run started in, the user's app and Locust file, and that
  folder's git sha when it is a repository;
* the machine: CPUs and their topology, the CPU split, the governor, memory, kernel, and
  how loaded it was just before the run;
* the versions of Python, every server and the packages that measure.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

import asgi_bench
from asgi_bench import __version__, envvars
from asgi_bench.config import Settings
from asgi_bench.loadtests import REQUEST_HEAD
from asgi_bench.servers import SERVERS, get_server
from asgi_bench.system.cpus import SYS_CPU, siblings

PACKAGES = (
    "asgi-bench",
    "locust",
    "prometheus-client",
    "uvicorn",  # under gunicorn too: gunicorn-uvicorn's version is gunicorn's
    "uvicorn-worker",
    "h2",  # the HTTP/2 client's frames
    "uvloop",
    "httptools",
    "h11",
    "websockets",
    "gevent",
    "hdrhistogram",
    "matplotlib",
    "psutil",
    "starlette",  # --frameworks
    "fastapi",
    "asyncpg",  # the db workload's client
    "py-spy",  # --profile
)

PACKAGE_DIR = Path(asgi_bench.__file__).resolve().parent
CHECKOUT = PACKAGE_DIR.parent  # the repository root, when running from a checkout


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(folder: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(folder: Path) -> dict[str, Any] | None:
    """The sha of the repository whose top level is ``folder`` (not a parent's), or None."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != folder.resolve():
        return None
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return {"sha": _git(folder, "rev-parse", "HEAD"), "dirty": bool(status) if status else False}


def harness_info() -> dict[str, Any]:
    own_checkout = (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "asgi_bench").is_dir()
    git = git_state(CHECKOUT) if own_checkout else None
    if git is None and os.environ.get(envvars.GIT_SHA):
        # An installed copy (the container image): the sha was stamped at build time.
        git = {"sha": os.environ[envvars.GIT_SHA], "dirty": None}
    return {"version": __version__, "location": str(PACKAGE_DIR), "git": git}


def user_info(settings: Settings) -> dict[str, Any]:
    cwd = Path.cwd()
    config = settings.config
    return {
        "cwd": str(cwd),
        "app": config.app,
        "locustfile": str(Path(config.locustfile).resolve()) if config.locustfile else None,
        "git": git_state(cwd) if config.app else None,
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def governor(cpu: int) -> str | None:
    try:
        return (SYS_CPU / f"cpu{cpu}" / "cpufreq" / "scaling_governor").read_text().strip()
    except OSError:
        return None


def host_info() -> dict[str, Any]:
    cpus = sorted(os.sched_getaffinity(0))
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "cpus_available": cpus,
        "cpu_model": cpu_model(),
        "smt_siblings": {str(cpu): list(siblings(cpu)) for cpu in cpus},
        "governor": {str(cpu): governor(cpu) for cpu in cpus},
        "memory_bytes": psutil.virtual_memory().total,
        "kernel": platform.release(),
        "platform": platform.platform(),
    }


def load_before(sample_s: float = 0.3) -> dict[str, Any]:
    """How busy the machine is right now: load average, and the processes (not ours) that
    used CPU over a short sample."""
    mine = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))}
    procs = [p for p in psutil.process_iter(["pid", "name"]) if p.pid not in mine]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
    time.sleep(sample_s)
    busy = []
    for proc in procs:
        try:
            share = proc.cpu_percent(None)
        except psutil.Error:
            continue
        if share >= 5.0:
            busy.append({"pid": proc.pid, "name": proc.info["name"], "cpu_percent": share})
    busy.sort(key=lambda p: -p["cpu_percent"])
    return {"loadavg": list(os.getloadavg()), "busy_processes": busy[:10]}


def build_manifest(settings: Settings, run_id: str, order: list[str]) -> dict[str, Any]:
    config = settings.config
    servers = {}
    for name in SERVERS:
        spec = get_server(name)
        servers[name] = {"package": spec.module, "version": spec.version, "notes": spec.notes}
    return {
        "run_id": run_id,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "settings": settings.describe(),
        "mode": "paired" if config.paired else "instrumented" if config.metrics else "bare",
        "cpu_split": {"server": list(settings.server_cpus), "driver": list(settings.driver_cpus)},
        "python": {
            "version": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "servers": servers,
        # What the driver sends (the streaming and WebSocket workloads use their own clients).
        "request_head": REQUEST_HEAD,
        "packages": {name: _version(name) for name in PACKAGES},
        "harness": harness_info(),
        "user": user_info(settings),
        "host": host_info(),
        "environment": load_before(),
        "plan": {"seed": settings.seed, "order": order},
        "started_at": None,
        "finished_at": None,
        "completed": False,
        "interrupted": False,
        "interrupted_by": None,
        "error": None,
        "replay": replay_of(config.replay) if config.replay else None,
        "profile": None,  # --profile: the runner says how (asgi_bench.run.profiler.describe)
    }


def replay_of(run_dir: Path) -> dict[str, Any]:
    """Which run this one replays, and whether it ran on this machine (it may not have)."""
    recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    then, here = recorded.get("host") or {}, host_info()
    keys = ("hostname", "cpu_model", "cpu_count")
    return {
        "run_id": recorded.get("run_id"),
        "run_dir": str(run_dir),
        "recorded_on": {key: then.get(key) for key in keys},
        "same_machine": all(then.get(key) == here[key] for key in keys),
    }
