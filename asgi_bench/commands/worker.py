"""``asgi-bench worker --master HOST[:PORT]``: a Locust worker with the harness's recorder,
for drivers on other hosts (by hand, docker-compose or Kubernetes).

Every repeat of a run is its own Locust master (``run --expect-workers N``), so this command
starts a Locust worker, lets it serve one master until that master quits it, and starts the
next; the Locust files come from the master (``locust -f -``), so a worker needs nothing but
asgi-bench installed. It stops on Ctrl+C, SIGTERM or SIGHUP, with exit 0, or after
``--idle-exit`` seconds without a master.

``--bind ADDR`` sends the worker's load from that address (the open model's connections),
so tests on one machine can give every worker a loopback address of its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from asgi_bench import envvars
from asgi_bench.config import MASTER_PORT
from asgi_bench.errors import Interrupted, UsageError
from asgi_bench.load.open import BACKEND
from asgi_bench.system.cpus import parse_cpus
from asgi_bench.system.processes import ManagedProcess, user_env
from asgi_bench.system.signals import stop_signals
from asgi_bench.system.watchdog import scratch_dir


def master_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, MASTER_PORT
    try:
        number = int(port)
    except ValueError:
        raise UsageError(f"bad --master {text!r}; expected HOST or HOST:PORT") from None
    if not 1 <= number <= 65535:
        raise UsageError(f"bad --master {text!r}: {number} is not a port")
    return host.strip("[]"), number


def worker(args: argparse.Namespace, console: Console) -> int:
    host, port = master_address(args.master)
    cpus = parse_cpus(args.cpus, "--cpus") if args.cpus else ()
    served = 0
    idle_since = time.monotonic()
    try:
        with stop_signals(), scratch_dir("asgi-bench-worker-") as scratch:
            # The master's Locust files land in the temp folder: one of its own per worker.
            env = user_env({"TMPDIR": scratch, **BACKEND})
            if args.bind:
                env[envvars.SOURCE_ADDRESS] = args.bind
            console.print(f"asgi-bench worker: serving masters at {host}:{port}; Ctrl+C stops")
            while True:
                process = ManagedProcess(
                    [
                        sys.executable,
                        "-m",
                        "locust",
                        "--worker",
                        "-f",
                        "-",
                        "--master-host",
                        host,
                        "--master-port",
                        str(port),
                        "--loglevel",
                        "WARNING",
                    ],
                    Path(scratch) / f"locust-{served}.log",
                    env,
                    cpus,
                )
                try:
                    code = _wait(process)
                finally:
                    process.stop(grace=5)
                if code == 0:
                    served += 1
                    idle_since = time.monotonic()
                elif args.idle_exit and time.monotonic() - idle_since > args.idle_exit:
                    console.print(f"asgi-bench worker: no master for {args.idle_exit:g}s; done")
                    return 0
                time.sleep(0.2)  # the next repeat's master is starting
    except Interrupted:
        return 0


def _wait(process: ManagedProcess) -> int:
    """Wait for the worker to end; short waits, so a stop signal is handled at once."""
    while True:
        code = process.wait(0.5)
        if code is not None:
            return code
