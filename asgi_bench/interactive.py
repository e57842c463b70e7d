"""``asgi-bench serve`` and ``asgi-bench ui``: one server (plus the Locust web UI) in the
foreground, for use by hand, until Ctrl+C or until a child exits."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from asgi_bench.procs import ManagedProcess
from asgi_bench.servers import get_server
from asgi_bench.serving import start_server
from asgi_bench.tls import make_cert
from asgi_bench.workloads import serve_workload


def serve(args: argparse.Namespace, console: Console) -> int:
    spec = get_server(args.server)
    workload = serve_workload(args.app)
    # SIGTERM (from a supervisor or a test) stops cleanly, like Ctrl+C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with tempfile.TemporaryDirectory(prefix="asgi-bench-serve-") as scratch:
        work = Path(scratch)
        certs = make_cert(work / "tls") if args.tls else None
        server = start_server(
            spec,
            workload,
            args.port,
            work,
            workers=args.workers,
            certs=certs,
            metrics=args.metrics,
            cpus=args.cpus,
        )
        ui: ManagedProcess | None = None
        try:
            console.print(
                f"{spec.name} serving {workload.app} at {server.base_url} "
                f"(log: {server.process.log_path}); Ctrl+C stops"
            )
            if args.command == "ui":
                ui = ManagedProcess(
                    [
                        sys.executable,
                        "-m",
                        "locust",
                        "-f",
                        str(workload.locustfile),
                        "--host",
                        server.base_url,
                        "--web-host",
                        args.web_host,
                        "--web-port",
                        str(args.web_port),
                    ],
                    work / "locust.log",
                )
                console.print(f"Locust web UI: http://{args.web_host}:{args.web_port}")
            while server.process.poll() is None and (ui is None or ui.poll() is None):
                time.sleep(0.2)
            console.print("[red]a process exited[/]: " + server.process.log_tail(5))
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            if ui is not None:
                ui.stop()
            server.stop()
