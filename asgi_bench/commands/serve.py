"""``asgi-bench serve`` and ``asgi-bench ui``: one server (plus the Locust web UI) in the
foreground, for use by hand, until a stop signal (Ctrl+C, SIGTERM, SIGHUP: exit 0) or until
a child exits (exit 1, with the line of its log that says why)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from asgi_bench.errors import Interrupted, UsageError
from asgi_bench.load.open import BACKEND
from asgi_bench.run.server import start_server
from asgi_bench.servers import get_server
from asgi_bench.system.cpus import parse_cpus
from asgi_bench.system.processes import ManagedProcess, user_env
from asgi_bench.system.signals import stop_signals
from asgi_bench.system.tls import make_cert
from asgi_bench.system.watchdog import scratch_dir
from asgi_bench.workloads import LOADTESTS_DIR, Workload, serve_workload


def serve(args: argparse.Namespace, console: Console) -> int:
    spec = get_server(args.server)
    workload = serve_workload(args.app)
    if args.command == "ui":
        ui_users(workload, args.load_shape)  # a bad --load is refused before any server starts
    cpus = parse_cpus(args.cpus, "--cpus") if args.cpus.strip() else ()
    try:
        with stop_signals(), scratch_dir("asgi-bench-serve-") as scratch:
            work = Path(scratch)
            certs = make_cert(work / "tls") if args.tls else None
            with start_server(
                spec,
                workload,
                args.port,
                work,
                workers=args.workers,
                certs=certs,
                metrics=args.metrics,
                cpus=cpus,
                host=args.host,
                raw_paths=args.raw_paths,
                http=args.http,
            ) as server:
                console.print(
                    f"{spec.name} serving {workload.app} at {server.base_url}; Ctrl+C stops"
                )
                if args.command != "ui":
                    return _watch(console, (spec.name, server.process))
                with _locust_ui(args, workload, server.base_url, work) as ui:
                    console.print(f"Locust web UI: http://{args.web_host}:{args.web_port}")
                    return _watch(console, (spec.name, server.process), ("Locust web UI", ui))
    except Interrupted:
        return 0


def _locust_ui(
    args: argparse.Namespace, workload: Workload, host: str, work: Path
) -> ManagedProcess:
    """Locust's web UI for ``workload``: one load shape at a time (its requests would share
    one row of Locust's table, closed-loop latency mixed with latency from the intended
    send), picked in the start form or by ``--load``; the open model's rate, arrival and
    slots are fields of the form. Prometheus's exporter and the asgi-bench tab are loaded,
    and gevent's timer backend is the one the harness drives with, as in compose's service."""
    offered = ui_users(workload, args.load_shape)
    plugins = [LOADTESTS_DIR / name for name in ("prometheus_exporter.py", "panel.py")]
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        ",".join(str(path) for path in (*plugins, workload.locustfile)),
        "--host",
        host,
        "--web-host",
        args.web_host,
        "--web-port",
        str(args.web_port),
        # The open model offers its rate per user: one user is the rate asked for.
        "--users",
        "1",
    ]
    if len(offered) > 1:
        argv.append("--class-picker")
    # Without it gevent's default loop wakes the open model's timer up to 1 ms late: the
    # corrected p50 of hello read 0.66 ms here where a run's read 0.23.
    return ManagedProcess([*argv, *offered], work / "locust.log", user_env(BACKEND))


def ui_users(workload: Workload, load: str | None) -> list[str]:
    """The user classes the UI offers: the one ``load`` names, else closed loop and open
    model both (in the class picker); a load shape the workload has no user for is refused.

    >>> from asgi_bench.workloads import get_workload
    >>> ui_users(get_workload("hello"), None), ui_users(get_workload("hello"), "open")
    (['HelloUser', 'HelloOpen'], ['HelloOpen'])
    """
    users = {"closed": workload.user, "open": workload.open_user}
    if load is None:
        return [user for user in users.values() if user]
    chosen = users[load]
    if chosen is None:
        raise UsageError(f"--load {load}: {workload.name} has no {load}-model user; drop --load")
    return [chosen]


def _watch(console: Console, *children: tuple[str, ManagedProcess]) -> int:
    """Until one child exits; then say which, how, and the log line that explains it."""
    while True:
        for name, process in children:
            if process.poll() is not None:
                why = process.explain()
                console.print(
                    f"[red]{name} {process.describe_exit()}[/]" + (f": {why}" if why else "")
                )
                return 1
        time.sleep(0.2)
