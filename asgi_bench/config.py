"""One config object for a run, and one place that resolves it.

The ``asgi-bench run`` flags map one to one to :class:`RunConfig` fields; a field left
``None`` was not given, so an explicit value always wins over ``--quick``. As uvicorn's
``Config.load()``, :meth:`RunConfig.load` resolves everything once (server specs, workloads,
targets, CPU split, steps) and checks every value before any server starts: a bad value is
one :class:`UsageError` line naming it and the valid choices.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import random
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import psutil

from asgi_bench.errors import UsageError
from asgi_bench.frameworks import through_frameworks
from asgi_bench.load import Step
from asgi_bench.load.closed import Closed
from asgi_bench.load.http import H1, Http
from asgi_bench.load.http import VERSIONS as HTTP_VERSIONS
from asgi_bench.load.native import NATIVE_TOOLS, find_tool, follows, get_tool
from asgi_bench.load.open import ARRIVALS, Open
from asgi_bench.servers import SERVERS, ServerSpec, get_server
from asgi_bench.system.cpus import (
    available_cpus,
    cores,
    default_split,
    format_cpus,
    parse_cpus,
    split_overlap,
)
from asgi_bench.system.processes import user_env
from asgi_bench.verdict.limits import MAX_ERROR_RATE
from asgi_bench.verdict.slo import Slo, parse_slo
from asgi_bench.workloads import (
    QUICK,
    WORKLOADS,
    Workload,
    custom_workload,
    get_workload,
)

HOST = "127.0.0.1"  # all load stays on loopback (127.0.0.0/8 or ::1); see is_loopback()
MASTER_PORT = 5557  # Locust's own default for its master

DEFAULTS = {"users": 32, "spawn_rate": 100.0, "duration": 30.0, "warmup": 5.0}
QUICK_DEFAULTS = {"duration": 3.0, "warmup": 1.0}
QUICK_BUDGET_S = 540.0  # the quick run's repeats must fit in 9 of its 10 minutes
REPEAT_OVERHEAD_S = 2.5  # measured: server start, Locust start, edge alignment, drain


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RunConfig:
    servers: tuple[str, ...] | None = None  # None: every config
    apps: tuple[str, ...] | None = None  # None: the quick set
    # hello, json, streaming and lifespan also through these frameworks (FRAMEWORKS): a row
    # per server, framework and app; None: raw, the apps alone
    frameworks: tuple[str, ...] | None = None
    app: str | None = None  # the user's own app, ``pkg.module:app``; replaces ``apps``
    locustfile: str | None = None
    users: int | None = None
    spawn_rate: float | None = None
    duration: float | None = None  # measured seconds per repeat, after the warm-up
    warmup: float | None = None
    workers: int = 1
    tls: bool = False
    quick: bool = False
    out: Path = Path("results")
    driver_processes: int | None = None  # None (--driver-processes auto): one per driver CPU
    server_cpus: str | None = None  # e.g. "0-3"; None: the default split
    driver_cpus: str | None = None
    metrics: bool = True  # serve apps wrapped in collectors.middleware.PrometheusMiddleware
    # Each repeat twice, bare and instrumented, in alternation: the headline figures from the
    # bare ones, the middleware's from the others, and the instrument's cost between them
    paired: bool = False
    # The Python middleware even where the compiled one is built (collectors/compiled.py)
    pure_middleware: bool = False
    max_error_rate: float = MAX_ERROR_RATE
    rates: str | None = None  # "300,1200": open-model steps at these offered rates; "auto"
    load_shape: str | None = None  # --load: closed, open or both; default open with --rates
    arrival: str = "constant"  # open model: constant spacing or poisson arrivals
    slots: int = 0  # open model: connection slots per driver process; 0: from the rate
    slo: str | None = None  # e.g. "p99<10ms,errors<0.1%": each row passes or fails
    fail_on_slo: bool = False  # exit 3 when a row fails its SLO
    junit: Path | None = None  # a JUnit file: one test case per row, for CI systems
    config: Path | None = None  # a plan file of run flags (else pyproject's [tool.asgi-bench])
    replay: Path | None = None  # a past run whose recorded configuration this one runs again
    repeat: int | None = None  # repeats per (cell, step), each on a fresh server; quick: fits
    seed: int | None = None  # of the shuffled order; None: a fresh one, recorded in run.json
    cooldown: float | None = None  # seconds of rest between repeats (default 1; quick 0.5)
    # Targets mode: ``server=url`` of servers already running (docker-compose); no process
    # management, each app is reached under its apps.combined prefix.
    targets: tuple[str, ...] = ()
    # Targets on other hosts (a real multi-machine setup, e.g. Kubernetes). Never needed on
    # one machine: without it, every target must be on loopback.
    remote_targets: bool = False
    server_host: str = HOST  # where local servers listen: an address in 127.0.0.0/8 or ::1
    # Scaling out: Locust workers (asgi-bench worker) on this or other hosts drive the load;
    # this process is their master, listening on master_bind:master_port.
    expect_workers: int = 0
    master_bind: str = HOST
    master_port: int = MASTER_PORT
    workers_timeout: float = 60.0  # how long the master waits for its workers, per repeat
    raw_paths: bool = True  # label paths outside an app's route table by their raw value
    ready_timeout: float = 30.0
    stop_timeout: float = 5.0  # Locust users get this long to finish their current request
    # Each closed-loop step (of a workload that is one plain GET) is driven again by a native
    # tool (wrk, h2load over HTTP/2), where one is installed, for calibration: rows with load
    # "native".
    native_peak: bool = True
    http: str = "1.1"  # "1.1,2": each step at each version (HTTP/2: workloads whose users speak it)
    streams: int = 8  # HTTP/2: requests multiplexed per connection, at most
    # The db workload's PostgreSQL; None: a throwaway cluster where Debian's postgresql is
    # installed (asgi_bench/run/database.py), else its rows are unsupported.
    db_dsn: str | None = None
    # CPU profiles by py-spy during each measured window: "server" (its process tree) or
    # "driver" (the Locust processes); None: none (asgi_bench/run/profiler.py)
    profile: str | None = None

    def instrumented(self, bare: bool) -> bool:
        """Whether a repeat (``bare``: --paired's twin without it) is served in the middleware."""
        return self.metrics and not bare

    def load(self, sources: Mapping[str, str] | None = None) -> Settings:
        """Resolve and check everything; raises :class:`UsageError` with one line.
        ``sources``: where each value not at its default came from, for run.json."""
        _check_numbers(self)
        if not is_loopback(self.server_host):
            raise UsageError(
                f"--server-host {self.server_host!r} is not on loopback; local servers listen "
                "on 127.0.0.0/8 or ::1 (servers on other hosts: --targets with --remote-targets)"
            )
        if not 1 <= self.master_port <= 65535:
            raise UsageError(f"--master-port {self.master_port} is not a port; choose 1-65535")
        _check_master_bind(self.master_bind)
        self._check_profile()
        self._check_paired()
        targets = target_urls(self.targets, self.remote_targets)
        if self.tls and any(url.startswith("http://") for url in targets.values()):
            raise UsageError("--tls needs https:// targets; these are plain http://")
        if targets:
            if self.servers is not None and set(self.servers) != set(targets):
                raise UsageError("with --targets, the servers are the targets' names")
            if self.pure_middleware:  # it would do nothing: the targets serve their own build
                raise UsageError(
                    "--pure-middleware picks the middleware of servers we start; "
                    "--targets servers run their own"
                )
            names: tuple[str, ...] = tuple(targets)
        else:
            names = _names("--servers", self.servers, tuple(SERVERS))
        specs = tuple(get_server(name) for name in names)
        workloads = self._workloads()
        quick = QUICK_DEFAULTS if self.quick else {}
        duration = _pick(self.duration, quick.get("duration"), DEFAULTS["duration"])
        warmup = _pick(self.warmup, quick.get("warmup"), DEFAULTS["warmup"])
        users = int(_pick(self.users, None, DEFAULTS["users"]))
        spawn_rate = _pick(self.spawn_rate, None, DEFAULTS["spawn_rate"])
        server_cpus, driver_cpus = self._cpus()
        if self.arrival not in ARRIVALS:
            raise UsageError(
                f"unknown --arrival {self.arrival!r}; choose from: {', '.join(ARRIVALS)}"
            )
        rates = _rates(self.rates) if self.rates and self.rates != "auto" else ()
        https = _https(self.http, self.streams)
        steps = {
            w.name: tuple(
                step
                for http in https
                if w.http2 or not http.h2
                for step in self._steps(w, rates, users, spawn_rate, http)
            )
            for w in workloads
        }
        if not any(steps.values()):
            only = ", ".join(w.name for w in WORKLOADS.values() if w.http2)
            raise UsageError(
                f"--http {self.http}: none of these apps has an HTTP/2 driver; {only} do"
            )
        # An explicit --slo '' is an error (parse_slo says so), not the default SLO.
        slo = parse_slo(self.slo) if self.slo is not None else None
        cooldown = _pick(self.cooldown, 0.5 if self.quick else None, 1.0)
        # auto: every driver CPU gets a Locust process of its own (workers elsewhere drive a
        # run with --expect-workers; its master sends no load).
        processes = self.driver_processes or max(1, len(driver_cpus))
        native_tools, native_note = self._native(workloads, steps, processes)
        jobs = len(specs) * sum(len(s) for s in steps.values())
        for name in native_tools.values():  # at most one native repeat after each it follows
            tool = get_tool(name)
            jobs += len(specs) * sum(
                follows(s, w, tool, processes) for w in workloads for s in steps[w.name]
            )
        jobs *= 2 if self.paired else 1  # each twice: bare and instrumented
        repeat = self.repeat or 1
        if self.quick and self.repeat is None and jobs:
            # As many rounds as fit in the budget: never fewer than one.
            per_round = jobs * (warmup + duration + REPEAT_OVERHEAD_S + cooldown)
            repeat = max(1, int(QUICK_BUDGET_S // per_round))
        return Settings(
            config=self,
            driver_processes=processes,
            specs=specs,
            workloads=workloads,
            targets=targets,
            steps=steps,
            search=self.rates == "auto",
            slo=slo,
            duration=duration,
            warmup=warmup,
            server_cpus=server_cpus,
            driver_cpus=driver_cpus,
            seed=self.seed if self.seed is not None else random.SystemRandom().randrange(2**32),
            repeat=repeat,
            cooldown=cooldown,
            host=self.server_host,
            native_tools=native_tools,
            native_note=native_note,
            https=https,
            sources=dict(sources or {}),
        )

    def _native(
        self,
        workloads: tuple[Workload, ...],
        steps: Mapping[str, tuple[Step, ...]],
        processes: int,
    ) -> tuple[dict[str, str], str]:
        """The native tool for the calibration peak at each HTTP version (a name of
        NATIVE_TOOLS), and what the run says about it: ``native peak: wrk debian/4.1.0-3+b2
        after each closed-loop step``, or, a run at both versions, each version's part."""
        versions = sorted(
            {
                s.http.version
                for w in workloads
                for s in steps[w.name]
                if follows(s, w, None, processes)
            }
        )
        if not versions:
            return {}, ""  # no closed-loop step it could follow
        if not self.native_peak:
            return {}, "native peak: off (--no-native-peak)"
        if self.expect_workers:
            return {}, "native peak: skipped (the load comes from Locust workers elsewhere)"
        tools: dict[str, str] = {}
        said = []
        for version in versions:
            # One version says it as an HTTP/1.1 run always has; two name theirs.
            at = "" if len(versions) == 1 else f"HTTP/{version} "
            tool = find_tool(version)
            if tool is None:
                wanted = next(t for t in map(get_tool, NATIVE_TOOLS) if t.http == version)
                over = f" at {at.strip()}" if at else ""
                said.append(f"skipped{over}, {wanted.name} is not installed ({wanted.package})")
            else:
                tools[version] = tool.name
                said.append(f"{tool.version()} after each {at}closed-loop step")
        return tools, "native peak: " + "; ".join(said)

    def _steps(
        self,
        workload: Workload,
        rates: tuple[float, ...],
        users: int,
        spawn_rate: float,
        http: Http = H1,
    ) -> tuple[Step, ...]:
        """The steps of one workload at one HTTP version: its open-model ladder (``rates``,
        the quick run's own when none are given) and/or a closed-loop step."""
        if self.quick and self.rates is None:
            rates = workload.rates
        load = self.load_shape or ("open" if rates or self.rates == "auto" else "closed")
        if load not in ("closed", "open", "both"):
            raise UsageError(f"unknown --load {load!r}; choose from: closed, open, both")
        if load != "closed" and not rates and self.rates != "auto":
            raise UsageError(f"--load {load} needs --rates (e.g. --rates 300,1200 or auto)")
        if load == "closed" and self.rates:
            raise UsageError("--rates sets open-model steps; it does not go with --load closed")
        if load != "closed" and workload.open_user is None:
            raise UsageError(
                f"{workload.name} has no open-model user (a custom --locustfile runs closed "
                "loop only): drop --rates, or write an OpenUser subclass (see loadtests/default.py)"
            )
        opens = tuple(Open(rate, self.arrival, self.slots, http) for rate in rates)
        closed = (Closed(users, spawn_rate, http),)
        if load == "closed":
            return closed
        if load == "both" or (self.quick and self.load_shape is None and workload.peak):
            return (*opens, *closed)
        return opens

    def _check_profile(self) -> None:
        """--profile: a known target, and ptrace allowed, before any server starts."""
        if self.profile is None:
            return
        from asgi_bench.run.profiler import TARGETS, ptrace_problem

        if self.profile not in TARGETS:
            raise UsageError(
                f"unknown --profile {self.profile!r}; choose from: {', '.join(TARGETS)}"
            )
        if self.profile == "server" and self.targets:
            from asgi_bench.run.container_profile import container_problem

            if self.remote_targets:
                raise UsageError("--profile server cannot trace servers on other machines")
            # py-spy runs in each server's container (compose), not here
            problem = container_problem(tuple(target_urls(self.targets, False)))
        else:
            problem = ptrace_problem()
        if problem:
            raise UsageError(problem)

    def _check_paired(self) -> None:
        """--paired needs both modes of servers we start; a profile would weigh on both."""
        if not self.paired:
            return
        for flag, given in (
            ("--no-metrics", not self.metrics),
            ("--targets", bool(self.targets)),
            ("--profile", self.profile is not None),
            ("--rates auto", self.rates == "auto"),  # the search's steps are measured once
        ):
            if given:
                raise UsageError(f"--paired runs each repeat bare and instrumented; not {flag}")

    def _workloads(self) -> tuple[Workload, ...]:
        if self.locustfile and not self.app:
            raise UsageError("--locustfile needs --app (the built-in apps bring their own)")
        if self.app:
            if self.apps is not None:
                raise UsageError("give --apps or --app, not both")
            if self.frameworks is not None:
                raise UsageError("--frameworks runs the built-in apps through them; not --app")
            workload = custom_workload(self.app, self.locustfile)
            check_importable(self.app)
            return (workload,)
        names = _names("--apps", self.apps, QUICK)
        workloads = tuple(get_workload(name) for name in names)
        frameworks = _names("--frameworks", self.frameworks, ("raw",))
        return through_frameworks(workloads, frameworks)

    def _cpus(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        server_default, driver_default = default_split()
        if self.targets:
            server_default = ()  # the servers run elsewhere: no CPU of this host is theirs
        server = (
            parse_cpus(self.server_cpus, "--server-cpus") if self.server_cpus else server_default
        )
        driver = (
            parse_cpus(self.driver_cpus, "--driver-cpus") if self.driver_cpus else driver_default
        )
        # With a single core both sides must share it (and run.json says so); otherwise
        # a shared CPU or core would let the driver slow the server down.
        if len(cores(available_cpus())) > 1:
            overlap = split_overlap(server, driver)
            if overlap:
                raise UsageError(
                    f"--server-cpus {format_cpus(server)} and --driver-cpus "
                    f"{format_cpus(driver)} overlap ({overlap}); give them disjoint cores"
                )
        return server, driver


@dataclass(frozen=True)
class Settings:
    """A run as resolved by :meth:`RunConfig.load`: what every later stage reads."""

    config: RunConfig
    specs: tuple[ServerSpec, ...]
    workloads: tuple[Workload, ...]
    targets: Mapping[str, str]
    steps: Mapping[str, tuple[Step, ...]]  # workload name -> its steps, in order
    search: bool  # --rates auto: each cell searches its capacity at the SLO
    slo: Slo | None
    duration: float
    warmup: float
    server_cpus: tuple[int, ...]
    driver_cpus: tuple[int, ...]
    seed: int
    repeat: int = 1
    cooldown: float = 1.0
    host: str = HOST
    driver_processes: int = 1  # Locust processes this run starts: --driver-processes, or auto
    # For the calibration peak: HTTP version -> a name of NATIVE_TOOLS, where one is installed.
    native_tools: Mapping[str, str] = field(default_factory=dict)
    native_note: str = ""  # what the run says about it, tool and version or why not
    https: tuple[Http, ...] = (H1,)  # --http, in order
    sources: Mapping[str, str] = field(default_factory=dict)  # field -> flag, file or replay

    @property
    def out(self) -> Path:
        return self.config.out

    def slo_for(self, workload: Workload) -> Slo:
        """The SLO a row of ``workload`` is judged by: --slo, else the workload's default."""
        return self.slo or parse_slo(workload.slo)

    def describe(self) -> dict[str, object]:
        """What run.json records as the effective settings."""
        return {
            "servers": [spec.name for spec in self.specs],
            "apps": [w.name for w in self.workloads],
            "steps": {name: [step.id for step in steps] for name, steps in self.steps.items()},
            "search": self.search,
            "slo": {w.name: self.slo_for(w).text for w in self.workloads},
            "duration": self.duration,
            "warmup": self.warmup,
            "server_cpus": list(self.server_cpus),
            "driver_cpus": list(self.driver_cpus),
            "driver_processes": self.driver_processes,
            "driver_processes_from": "flag" if self.config.driver_processes else "auto",
            "native_peak": self.native_note or None,
            "http": {
                "versions": [http.version for http in self.https],
                "streams": self.config.streams,
                "http1_only": [w.name for w in self.workloads if not w.http2],
            },
            "seed": self.seed,
            "repeat": self.repeat,
            "cooldown": self.cooldown,
            "server_options": {
                s.name: [*s.command, *s.bind, *(s.workers or ())] for s in self.specs
            },
            "sources": dict(self.sources),
        }


def _rates(text: str) -> tuple[float, ...]:
    rates = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            rate = float(part)
        except ValueError:
            rate = math.nan
        if not math.isfinite(rate) or rate <= 0:
            raise UsageError(f"bad --rates entry {part!r}; expected rates such as 300,1200 or auto")
        rates.append(rate)
    if not rates:
        raise UsageError("--rates is empty; expected rates such as 300,1200 or auto")
    if len(set(rates)) != len(rates):
        raise UsageError(f"--rates names a rate twice: {text}")
    return tuple(rates)


def _pick(given: float | None, quick: float | None, default: float) -> float:
    if given is not None:
        return float(given)
    return float(quick if quick is not None else default)


def _names(flag: str, given: tuple[str, ...] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if given is None:
        return default
    if not given:
        raise UsageError(f"{flag} is empty; choose from: {', '.join(default)}")
    seen = set()
    for name in given:
        if name in seen:
            raise UsageError(f"{flag} names {name!r} twice; name each once")
        seen.add(name)
    return given


def _https(text: str, streams: int) -> tuple[Http, ...]:
    """``--http 1.1,2`` as the protocols each step is measured at."""
    versions = [part.strip() for part in text.split(",") if part.strip()]
    for version in versions:
        if version not in HTTP_VERSIONS:
            raise UsageError(
                f"unknown --http version {version!r}; choose from: {', '.join(HTTP_VERSIONS)}"
            )
    if not versions or len(set(versions)) != len(versions):
        raise UsageError(f"--http {text!r} names no version, or one twice; e.g. --http 1.1,2")
    return tuple(Http(v, streams) if v == "2" else H1 for v in versions)


def _check_numbers(config: RunConfig) -> None:
    for flag, value, low in (
        ("--repeat", config.repeat, 1),
        ("--streams", config.streams, 1),
        ("--users", config.users, 1),
        ("--workers", config.workers, 1),
        ("--driver-processes", config.driver_processes, 1),
        ("--expect-workers", config.expect_workers, 0),
    ):
        if value is not None and value < low:
            raise UsageError(f"{flag} must be at least {low}, got {value}")
    if config.slots < 0:
        raise UsageError(f"--slots must be an integer >= 0 (0: from the rate), got {config.slots}")
    for flag, number, positive in (
        ("--duration", config.duration, True),
        ("--warmup", config.warmup, False),
        ("--spawn-rate", config.spawn_rate, True),
        ("--ready-timeout", config.ready_timeout, True),
        ("--stop-timeout", config.stop_timeout, False),
        ("--cooldown", config.cooldown, False),
        ("--workers-timeout", config.workers_timeout, True),
    ):
        if number is None:
            continue
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            kind = "a finite number > 0" if positive else "a finite number >= 0"
            raise UsageError(f"{flag} must be {kind}, got {number}")
    rate = config.max_error_rate
    if not (math.isfinite(rate) and 0 <= rate <= 1):
        raise UsageError(f"--max-error-rate must be a share between 0 and 1, got {rate}")


def local_addresses() -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The IP addresses of this machine's interfaces, loopback included."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                # An IPv6 link-local address comes with its scope: fe80::1%eth0.
                with contextlib.suppress(ValueError):
                    found.add(ipaddress.ip_address(address.address.split("%")[0]))
    return found


def _check_master_bind(bind: str) -> None:
    """Locust's master binds ``--master-bind`` as given, and a name or an address of another
    machine only fails there, once per repeat: accept what this machine can bind."""
    if bind == "localhost":
        return
    mine = local_addresses()
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        address = None
    if address is not None and (address.is_unspecified or address.is_loopback or address in mine):
        return
    listed = ", ".join(sorted(map(str, mine), key=lambda a: (":" in a, a)))  # IPv4 first
    raise UsageError(
        f"--master-bind {bind!r} is not an address of this machine; give localhost, "
        f"0.0.0.0 or :: (every interface) or one of: {listed}"
    )


def target_urls(entries: tuple[str, ...], remote: bool = False) -> dict[str, str]:
    """``--targets`` as server -> base URL; every URL must be on loopback unless ``remote``."""
    urls: dict[str, str] = {}
    for entry in entries:
        name, sep, url = entry.partition("=")
        parsed = urlparse(url)
        try:
            port = parsed.port
        except ValueError:
            port = None
        if not sep or parsed.scheme not in ("http", "https") or not port:
            raise UsageError(
                f"bad --targets entry {entry!r}; expected server=http://127.0.0.1:PORT"
            )
        if not remote and not is_loopback(parsed.hostname):
            raise UsageError(
                f"target {url!r} is not on loopback; use 127.0.0.0/8, ::1 or localhost "
                "(or --remote-targets, for servers on other machines)"
            )
        if name in urls:
            raise UsageError(f"--targets names {name!r} twice; name each once")
        get_server(name)  # a known config name, or one line with the valid names
        urls[name] = url.rstrip("/")
    return urls


def check_importable(app: str) -> None:
    """Import ``app`` in a fresh interpreter, from the current folder, as the servers will."""
    probe = subprocess.run(
        [sys.executable, "-m", "asgi_bench.system.importer", app],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(),
    )
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["it did not import"])[-1]
        raise UsageError(f"--app {app!r} cannot be imported from {Path.cwd()}: {reason}")
