"""One config object for a run; the ``asgi-bench run`` flags map to its fields one to one."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from asgi_bench.cpus import default_split
from asgi_bench.errors import UsageError
from asgi_bench.servers import SERVERS
from asgi_bench.workloads import QUICK

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
HOST = "127.0.0.1"  # all load stays on loopback; not configurable on purpose

QUICK_DURATION = 8.0
QUICK_WARMUP = 2.0


@dataclass(frozen=True)
class RunConfig:
    servers: tuple[str, ...] = tuple(SERVERS)
    apps: tuple[str, ...] = QUICK
    app: str | None = None  # the user's own app, ``pkg.module:app``; replaces ``apps``
    locustfile: str | None = None
    users: int = 32
    spawn_rate: float = 100.0
    duration: float = 30.0  # measured seconds per cell, after the warm-up
    warmup: float = 5.0
    workers: int = 1
    tls: bool = False
    quick: bool = False
    out: Path = Path("results")
    driver_processes: int = 1
    server_cpus: tuple[int, ...] = field(default_factory=lambda: default_split()[0])
    driver_cpus: tuple[int, ...] = field(default_factory=lambda: default_split()[1])
    metrics: bool = True  # serve apps wrapped in collectors.middleware.PrometheusMiddleware
    max_error_rate: float = 0.01  # above this share of failed requests a cell is "failed"
    # Targets mode: ``server=url`` of servers already running (docker-compose); no process
    # management, each app is reached under its apps.combined prefix.
    targets: tuple[str, ...] = ()
    ready_timeout: float = 30.0
    stop_timeout: float = 5.0  # Locust users get this long to finish their current request

    def target_urls(self) -> dict[str, str]:
        """``--targets`` as server -> base URL; every URL must be on loopback."""
        urls = {}
        for entry in self.targets:
            name, sep, url = entry.partition("=")
            parsed = urlparse(url)
            if not sep or parsed.scheme not in ("http", "https") or not parsed.port:
                raise UsageError(
                    f"bad --targets entry {entry!r}; expected server=http://127.0.0.1:PORT"
                )
            if parsed.hostname not in LOOPBACK:
                raise UsageError(
                    f"target {url!r} is not on loopback; use one of {sorted(LOOPBACK)}"
                )
            urls[name] = url.rstrip("/")
        return urls

    def resolved(self) -> RunConfig:
        """Validate, and apply ``--quick`` to the fields the user did not set."""
        for name, value in (
            ("users", self.users),
            ("workers", self.workers),
            ("driver-processes", self.driver_processes),
        ):
            if value < 1:
                raise UsageError(f"--{name} must be at least 1, got {value}")
        if self.duration <= 0 or self.warmup < 0:
            raise UsageError(
                f"--duration must be > 0 and --warmup >= 0, got {self.duration} and {self.warmup}"
            )
        if self.locustfile and not self.app:
            raise UsageError("--locustfile needs --app (the built-in apps bring their own)")
        targets = self.target_urls()
        if targets and set(targets) != set(self.servers):
            return replace(self, servers=tuple(targets)).resolved()
        if not self.quick:
            return self
        defaults = RunConfig.__dataclass_fields__
        changes: dict[str, object] = {}
        if self.duration == defaults["duration"].default:
            changes["duration"] = QUICK_DURATION
        if self.warmup == defaults["warmup"].default:
            changes["warmup"] = QUICK_WARMUP
        return replace(self, **changes)  # type: ignore[arg-type]
