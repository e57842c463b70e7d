"""Drive the Locust web UI at a fixed rate for a long while and print how the driver's memory
grew: the bounded-memory check of the web UI (no record folder: rolling state only).

    scripts/ui-soak [--minutes 30] [--rate 1000] [--server uvicorn]

It starts ``asgi-bench ui SERVER hello --load open``, starts the open model at ``--rate``
through the UI's own ``/swarm`` form, reads ``/stats/requests`` every 2 s as an open browser
tab does (so the asgi-bench tab's figures are computed all along), and samples the Locust
process's RSS. Growth is measured from the end of the first two minutes (the recorder's
rolling minute and Locust's own windows have filled by then) to the end. The last line is one
a script can read: ``ui soak: ... growth X.X MiB (goal under 10)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

from asgi_bench.run.resources import free_port
from asgi_bench.system.http import get
from asgi_bench.system.processes import ManagedProcess
from asgi_bench.system.watchdog import scratch_dir

SETTLE_S = 120
MIB = 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--server", default="uvicorn")
    args = parser.parse_args()
    port, web_port = free_port(), free_port()
    argv = [sys.executable, "-m", "asgi_bench", "ui", args.server, "hello", "--load", "open"]
    with scratch_dir("asgi-bench-soak-") as scratch:
        log = Path(scratch) / "ui.log"
        ui = ManagedProcess([*argv, "--port", str(port), "--web-port", str(web_port)], log)
        try:
            return _soak(args, ui, port, f"http://127.0.0.1:{web_port}")
        finally:
            ui.stop(grace=30)  # SIGTERM: the UI stops its server and Locust; then the sweep


def _soak(args: argparse.Namespace, ui: ManagedProcess, port: int, web: str) -> int:
    locust = _locust_process(ui, web)
    form = {
        "user_count": 1,
        "spawn_rate": 1,
        "host": f"http://127.0.0.1:{port}",
        "asgi_bench_rate": args.rate,
    }
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(web + "/swarm", data=data, timeout=10) as reply:
        if not json.loads(reply.read())["success"]:
            raise SystemExit("ui soak: the UI refused to start the test")
    started = time.monotonic()
    end = started + args.minutes * 60
    settled: float | None = None
    samples: list[tuple[float, float]] = []
    table: dict[str, dict[str, str]] = {}
    while time.monotonic() < end:
        time.sleep(2)
        stats = json.loads(get(web + "/stats/requests").body)
        tab = [e["data"] for e in stats.get("extended_stats", []) if e["key"] == "asgi-bench"]
        table = {row["figure"]: row for row in (tab[0] if tab else [])}
        elapsed = time.monotonic() - started
        rss = locust.memory_info().rss / MIB
        samples.append((elapsed, rss))
        if settled is None and elapsed >= SETTLE_S:
            settled = rss
        if len(samples) % 150 == 0:  # every 5 minutes
            rate = table.get("requests/s", {}).get("recent", "-")
            print(f"ui soak: {elapsed / 60:5.1f} min, RSS {rss:6.1f} MiB, {rate} req/s", flush=True)
    last = samples[-1][1]
    first = settled if settled is not None else samples[0][1]
    total = table.get("requests", {}).get("total", "-")
    print(
        f"ui soak: {args.server} hello, open model at {args.rate:g} req/s for "
        f"{args.minutes:g} min, {total} requests; driver RSS {first:.1f} MiB at "
        f"{min(SETTLE_S, samples[-1][0]) / 60:.0f} min, {last:.1f} MiB at the end, peak "
        f"{max(r for _, r in samples):.1f}: growth {last - first:.1f} MiB (goal under 10)"
    )
    return 0


def _locust_process(ui: ManagedProcess, web: str) -> psutil.Process:
    """The Locust child of ``asgi-bench ui``, once its web UI answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if get(web + "/").status == 200:
                break
        except OSError:
            time.sleep(0.2)
    for child in psutil.Process(ui.pid).children(recursive=True):
        if "locust" in " ".join(child.cmdline()):
            return child
    raise SystemExit("ui soak: no Locust process under asgi-bench ui")


if __name__ == "__main__":
    sys.exit(main())
