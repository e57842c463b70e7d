"""``asgi-bench``: run, list, serve, ui, report, compare, driver-check, overhead, profile,
worker, verify, database.

The ``run`` flags map one to one to :class:`asgi_bench.config.RunConfig` fields; a flag not
given stays out of the parsed namespace, so RunConfig's own default applies (``None`` where
``--quick`` may choose), and an explicit value always wins over ``--quick``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from argparse import SUPPRESS
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from asgi_bench import __version__, exitcodes
from asgi_bench.config import DEFAULTS, HOST, QUICK_DEFAULTS, RunConfig
from asgi_bench.errors import BenchError, Interrupted, UsageError
from asgi_bench.frameworks import FRAMEWORK_APPS, FRAMEWORKS
from asgi_bench.load.http import VERSIONS as HTTP_VERSIONS
from asgi_bench.planfile import layered
from asgi_bench.servers import SERVERS, get_server
from asgi_bench.system.http import loopback_no_proxy
from asgi_bench.system.watchdog import WATCHDOG
from asgi_bench.workloads import QUICK, WORKLOADS


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port; choose 1-65535")
    return port


def _at_least_one(text: str) -> int:
    return _at_least(text, 1)


def _zero_or_more(text: str) -> int:
    return _at_least(text, 0)


def _at_least(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
    return value


def _processes(text: str) -> int | None:
    """``auto`` (None: one per driver CPU) or a whole number of at least 1."""
    return None if text.strip() == "auto" else _at_least_one(text)


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line and exits 2, like every other usage error here."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"asgi-bench: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="asgi-bench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"asgi-bench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run(commands)
    commands.add_parser("list", help="server configs and apps, and whether each is available")
    _add_serve(commands)
    report = commands.add_parser("report", help="re-render summary, charts and report")
    report.add_argument("run_dir", type=Path)
    _add_worker(commands)
    _add_compare(commands)
    _add_driver_check(commands)
    _add_overhead(commands)
    _add_profile(commands)
    _add_verify(commands)
    _add_database(commands)
    return parser


def _said_where(message: str, parser: argparse.ArgumentParser, sources: dict[str, str]) -> str:
    """A refusal of a value the plan file or the replayed run set says where it was set.

    >>> _said_where("--repeat must be at least 1, got 0", _run_parser(), {"repeat": "plan.toml"})
    '--repeat must be at least 1, got 0 (set in plan.toml)'
    """
    flag = next((word for word in message.split() if word.startswith("--")), "")
    dests = {o: a.dest for a in parser._actions for o in a.option_strings}
    source = sources.get(dests.get(flag.rstrip(":,"), ""), "flag")
    return message if source == "flag" else f"{message} (set in {source})"


def _run_parser() -> argparse.ArgumentParser:
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    run: argparse.ArgumentParser = commands.choices["run"]
    return run


# A run flag left out is left out of the namespace too: RunConfig's own default applies.
_RUN = {f.name: f.default for f in dataclasses.fields(RunConfig)}


def _add_run(commands: Any) -> None:
    run = commands.add_parser("run", help="run the benchmark matrix", argument_default=SUPPRESS)
    add = run.add_argument
    add(
        "--servers",
        type=_names,
        help=f"comma-separated configs (default: all): {_list_of(SERVERS)}",
    )
    add(
        "--apps",
        type=_names,
        help=f"comma-separated apps (default: {_list_of(QUICK)}); all: {_list_of(WORKLOADS)}",
    )
    add(
        "--frameworks",
        type=_names,
        help=f"also as framework apps ({', '.join(FRAMEWORK_APPS)}): "
        f"{_list_of(FRAMEWORKS)} (default raw)",
    )
    add("--app", help="your own app instead, as package.module:attribute")
    add("--locustfile", help="Locust file for --app (default: GET /)")
    add("--users", type=int, help=f"closed-loop users (default {DEFAULTS['users']})")
    add(
        "--spawn-rate",
        type=float,
        help=f"users started per second (default {DEFAULTS['spawn_rate']:g})",
    )
    for flag, what in (("duration", "measured seconds"), ("warmup", "seconds not measured")):
        add(
            f"--{flag}",
            type=float,
            help=f"{what} per repeat (default {DEFAULTS[flag]:g}; --quick: "
            f"{QUICK_DEFAULTS[flag]:g}); wins over --quick",
        )
    add("--workers", type=int, help=f"server worker processes (default {_RUN['workers']})")
    add("--tls", action="store_true", help="serve HTTPS with a throwaway cert")
    add(
        "--quick",
        action="store_true",
        help="the quick set: short windows unless --duration/--warmup say otherwise",
    )
    add("--out", type=Path, help=f"results folder (default {_RUN['out']})")
    add(
        "--driver-processes",
        type=_processes,
        help="Locust processes, each pinned to a driver CPU of its own (default auto: one per "
        "driver CPU)",
    )
    add("--server-cpus", help="CPUs for the servers, e.g. 0 or 0-3")
    add("--driver-cpus", help="CPUs for Locust, e.g. 1 or 4-7")
    add(
        "--no-metrics",
        dest="metrics",
        action="store_false",
        help="serve the bare apps, without the Prometheus middleware",
    )
    add(
        "--paired",
        action="store_true",
        help="each repeat bare and instrumented in turn: headline figures from the bare ones, "
        "the middleware's and its cost from the others",
    )
    add(
        "--pure-middleware",
        action="store_true",
        help="serve the pure-Python middleware even where the mypyc-compiled one is built",
    )
    add(
        "--db-dsn",
        help="the db app's PostgreSQL, postgresql://user@host:port/db, with its world table "
        "(default: a throwaway cluster where Debian's postgresql is installed)",
    )
    add(
        "--profile",
        nargs="?",
        const="server",
        metavar="server|driver",
        help="CPU profiles by py-spy during each window, with where the time goes by component "
        "(default target: server)",
    )
    add(
        "--no-native-peak",
        dest="native_peak",
        action="store_false",
        help="no wrk (HTTP/1.1) or h2load (HTTP/2) run after each closed-loop step "
        "(the calibration peak)",
    )
    add(
        "--max-error-rate",
        type=float,
        help="share of failed requests above which a repeat fails "
        f"(default {_RUN['max_error_rate']:g})",
    )
    add(
        "--targets",
        type=_names,
        help="servers already running, as server=http://127.0.0.1:PORT,... "
        "(docker-compose): no process management",
    )
    add(
        "--rates",
        help="open model: offered rates per step, e.g. 300,1200; 'auto' searches the highest "
        "rate that meets --slo",
    )
    add(
        "--load",
        dest="load_shape",
        help="closed, open or both (default: open with --rates, else closed)",
    )
    add(
        "--arrival",
        help=f"open model: constant spacing or poisson arrivals (default {_RUN['arrival']})",
    )
    add(
        "--slots",
        type=int,
        help="open model: connection slots per driver process (default: enough for 100 ms at "
        "the rate)",
    )
    add(
        "--http",
        help="HTTP versions to measure each step at, e.g. 1.1,2 (h2 by ALPN with --tls, else "
        f"h2c by prior knowledge; default {_RUN['http']})",
    )
    add(
        "--streams",
        type=int,
        help=f"HTTP/2: requests multiplexed per connection, at most (default {_RUN['streams']})",
    )
    add(
        "--slo",
        help="service-level objective per row, e.g. 'p99<10ms,errors<0.1%%' "
        "(also what --rates auto searches against)",
    )
    add("--fail-on-slo", action="store_true", help="exit 3 when a row fails its --slo")
    add(
        "--config",
        type=Path,
        metavar="FILE",
        help="run flags from a TOML plan file (default: pyproject.toml's [tool.asgi-bench]); "
        "flags win over it",
    )
    add(
        "--replay",
        type=Path,
        metavar="RUN_DIR",
        help="run the configuration that RUN_DIR/run.json recorded again (flags win over it)",
    )
    add(
        "--junit",
        type=Path,
        metavar="FILE",
        help="also write FILE: one JUnit test case per row (failed, skipped if unsupported)",
    )
    add(
        "--repeat",
        type=int,
        help="repeats per row, each on a fresh server, in a shuffled interleaved order "
        "(default 1; --quick: as many as fit in its 10 minutes)",
    )
    add("--seed", type=int, help="seed of the shuffled order (default: random)")
    add("--cooldown", type=float, help="seconds between repeats (default 1; --quick 0.5)")
    add(
        "--ready-timeout",
        type=float,
        help="seconds a server gets to answer 200 after it starts "
        f"(default {_RUN['ready_timeout']:g})",
    )
    add(
        "--stop-timeout",
        type=float,
        help="seconds Locust users get to finish their request at the end "
        f"(default {_RUN['stop_timeout']:g})",
    )
    add(
        "--remote-targets",
        action="store_true",
        help="allow --targets on other machines (a multi-host setup); default: loopback only",
    )
    add(
        "--server-host",
        help="where local servers listen: an address in 127.0.0.0/8 or ::1 "
        f"(default {_RUN['server_host']})",
    )
    add(
        "--expect-workers",
        type=int,
        help="drive through N Locust workers (asgi-bench worker, on any host) instead of "
        "local processes; this run is their master",
    )
    add(
        "--master-bind",
        help="where the master listens for its workers (0.0.0.0 across machines; "
        f"default {_RUN['master_bind']})",
    )
    add("--master-port", type=int, help=f"the master's port (default {_RUN['master_port']})")
    add(
        "--workers-timeout",
        type=float,
        help="seconds the master waits for its workers, per repeat "
        f"(default {_RUN['workers_timeout']:g})",
    )
    add(
        "--no-raw-paths",
        dest="raw_paths",
        action="store_false",
        help="label paths outside your app's route table <unmatched>, not by their raw value",
    )


def _add_serve(commands: Any) -> None:
    for name, text in (
        ("serve", "one server in the foreground"),
        ("ui", "one server plus the Locust web UI"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("server")
        sub.add_argument("app")
        sub.add_argument("--host", default=HOST, help="address to listen on (0.0.0.0 in a cluster)")
        sub.add_argument("--port", type=_port, default=8000)
        sub.add_argument("--workers", type=_at_least_one, default=_RUN["workers"])
        sub.add_argument("--tls", action="store_true")
        sub.add_argument(
            "--http",
            choices=HTTP_VERSIONS,
            default="1.1",
            help="2: add the flags a server needs to offer HTTP/2 (gunicorn's)",
        )
        sub.add_argument("--no-metrics", dest="metrics", action="store_false")
        sub.add_argument("--no-raw-paths", dest="raw_paths", action="store_false")
        sub.add_argument("--cpus", default="", help="pin the server to these CPUs, e.g. 0-1")
        if name == "ui":
            sub.add_argument("--web-host", default=HOST)
            sub.add_argument("--web-port", type=_port, default=8089)
            sub.add_argument(
                "--load",
                dest="load_shape",
                choices=("closed", "open"),
                help="the one load shape to offer (default: pick closed loop or open model "
                "in the start form)",
            )


def _add_worker(commands: Any) -> None:
    work = commands.add_parser(
        "worker", help="a Locust worker for a master on this or another host (run --expect-workers)"
    )
    work.add_argument("--master", required=True, help="the master's HOST or HOST:PORT")
    work.add_argument("--bind", help="send this worker's load from this address")
    work.add_argument("--cpus", default="", help="pin the worker to these CPUs, e.g. 1")
    work.add_argument(
        "--idle-exit", type=float, default=0.0, help="stop after this many seconds without a master"
    )


def _add_compare(commands: Any) -> None:
    compare = commands.add_parser(
        "compare", help="what changed from run A to run B, with intervals and a test"
    )
    compare.add_argument("run_a", type=Path)
    compare.add_argument("run_b", type=Path)
    compare.add_argument(
        "--threshold",
        type=float,
        default=5.0,
        help="a significant change worse than this many percent is a regression (exit 4)",
    )
    compare.add_argument("--format", choices=("text", "markdown"), default="text")
    compare.add_argument("--chart", help="also draw the comparison chart into this PNG file")
    compare.add_argument(
        "--force", action="store_true", help="compare runs of other configs or machines"
    )


def _add_driver_check(commands: Any) -> None:
    check = commands.add_parser(
        "driver-check", help="the highest rate one driver process can offer open-loop here"
    )
    check.add_argument("--server", default="granian", help="a fast server to drive (granian)")
    check.add_argument("--start", type=float, default=1000.0, help="first rate, req/s")
    check.add_argument("--limit", type=float, default=80000.0, help="highest rate to try")
    check.add_argument("--duration", type=float, default=3.0, help="measured seconds per step")
    check.add_argument(
        "--users", type=_at_least_one, default=32, help="closed-loop users (and wrk connections)"
    )
    check.add_argument(
        "--http",
        choices=HTTP_VERSIONS,
        default="1.1",
        help="2: also drive the closed loop over h2c and print the driver's CPU per request "
        "over both versions",
    )
    check.add_argument(
        "--streams", type=_at_least_one, default=8, help="HTTP/2: requests per connection"
    )


def _add_overhead(commands: Any) -> None:
    overhead = commands.add_parser("overhead", help="measure the middleware's cost")
    overhead.add_argument("--requests", type=_at_least_one, default=200_000)
    overhead.add_argument(
        "--rate", type=float, default=2000.0, help="fixed offered rate under the servers, req/s"
    )
    overhead.add_argument("--seconds", type=float, default=5.0, help="measured seconds a round")
    overhead.add_argument("--rounds", type=_at_least_one, default=5, help="rounds per server")
    overhead.add_argument("--servers", help="server configs (default: every installed one)")
    overhead.add_argument(
        "--users",
        type=_zero_or_more,
        default=32,
        help="connections for the saturation figure (wrk's, else Locust's); 0: none",
    )


def _add_profile(commands: Any) -> None:
    profile = commands.add_parser(
        "profile", help="where one server's CPU goes at one rate, and what py-spy costs it"
    )
    profile.add_argument("server", help=f"a server config: {_list_of(SERVERS)}")
    profile.add_argument("app", nargs="?", default="hello", help="an app (default hello)")
    profile.add_argument("--rate", type=float, default=1000.0, help="offered req/s (open model)")
    profile.add_argument("--seconds", type=float, default=5.0, help="measured seconds a round")
    profile.add_argument("--warmup", type=float, default=2.0, help="seconds before each window")
    profile.add_argument(
        "--rounds", type=_at_least_one, default=3, help="alternating rounds, each mode once"
    )
    profile.add_argument("--out", type=Path, default=Path("results"), help="results folder")


def _add_verify(commands: Any) -> None:
    check = commands.add_parser(
        "verify", help="check every server x app's answers, as a run does before its load"
    )
    check.add_argument("--servers", help="server configs (default: every one)")
    check.add_argument("--apps", help="apps (default: every one)")
    check.add_argument("--frameworks", help=f"{_list_of(FRAMEWORKS)} (default raw)")
    check.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway cert")
    check.add_argument(
        "--no-metrics", dest="metrics", action="store_false", help="the bare apps, no middleware"
    )
    check.add_argument("--db-dsn", help="the db app's PostgreSQL (default: a throwaway cluster)")


def _add_database(commands: Any) -> None:
    database = commands.add_parser(
        "database", help="hold the db app's PostgreSQL (a throwaway cluster) until stopped"
    )
    database.add_argument("--port", type=_port, default=5439, help="on 127.0.0.1")
    database.add_argument(
        "--max-connections",
        type=_at_least_one,
        default=800,
        help="enough for every server's pool (8 a worker process)",
    )


def _list_of(names: Iterable[str]) -> str:
    return ", ".join(names)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _no_proxy_to_loopback()
    console = Console()
    WATCHDOG.enable()  # whatever this command starts dies with it, even by SIGKILL
    try:
        return _dispatch(args, console)
    except UsageError as exc:
        print(f"asgi-bench: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except BenchError as exc:
        print(f"asgi-bench: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    except Interrupted as exc:
        print(f"asgi-bench: interrupted ({exc.name})", file=sys.stderr)
        return exitcodes.SIGNALLED + exc.signum
    except KeyboardInterrupt:
        print("asgi-bench: interrupted (SIGINT)", file=sys.stderr)
        return exitcodes.SIGNALLED + signal.SIGINT


def _no_proxy_to_loopback() -> None:
    """Add loopback to ``no_proxy`` here, where every child's environment comes from (servers,
    Locust, workers all start with a copy of it): a proxy set for the company network cannot
    reach our 127.0.0.1, and websocket-client or requests would send loopback traffic to it.
    In this process too, for the websocket probe; the user's own entries are kept."""
    os.environ.update(loopback_no_proxy(os.environ))


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    if args.command == "run":
        from asgi_bench.run.runner import run

        given = {k: v for k, v in vars(args).items() if k != "command"}
        parser = _run_parser()
        values, sources = layered(parser, given, dataclasses.fields(RunConfig), Path.cwd())
        try:
            settings = RunConfig(**values).load(sources)
        except UsageError as exc:
            raise UsageError(_said_where(str(exc), parser, sources)) from None
        return run(settings, console).exit_code
    if args.command == "list":
        _list(console)
        return 0
    if args.command in ("serve", "ui"):
        from asgi_bench.commands.serve import serve

        return serve(args, console)
    if args.command == "report":
        from asgi_bench.report.page import render_report

        console.print(f"report: {render_report(args.run_dir)}")
        return 0
    if args.command == "worker":
        from asgi_bench.commands.worker import worker

        return worker(args, console)
    if args.command == "compare":
        from asgi_bench.commands.compare import run_compare

        return run_compare(args, console)
    if args.command == "driver-check":
        from asgi_bench.commands.driver_check import driver_check

        return driver_check(args, console)
    if args.command == "profile":
        from asgi_bench.commands.profile import run_profile

        return run_profile(args, console)
    if args.command == "verify":
        from asgi_bench.commands.verify import run_verify

        return run_verify(args, console)
    if args.command == "database":
        from asgi_bench.commands.database import hold_database

        return hold_database(args, console)
    if args.command == "overhead":
        from asgi_bench.commands.overhead import run_overhead

        run_overhead(args, console)
        return 0
    raise UsageError(f"unknown command {args.command!r}")


def _list(console: Console) -> None:
    servers = Table(title="server configs")
    for column in ("name", "available", "version", "notes"):
        servers.add_column(column)
    for name in SERVERS:
        spec = get_server(name)
        available = "yes" if spec.available else f"no: {spec.install_hint}"
        servers.add_row(name, available, spec.version or "–", spec.notes)
    apps = Table(title="apps")
    for column in ("name", "app", "locust file", "description"):
        apps.add_column(column)
    for workload in WORKLOADS.values():
        apps.add_row(workload.name, workload.app, workload.locustfile.name, workload.description)
    console.print(servers)
    console.print(apps)
