"""Locust plugin: the harness's own figures in an ``asgi-bench`` tab of Locust's web UI.

Load it beside a Locust file, as ``asgi-bench ui`` and compose's Locust service do::

    locust -f loadtests/panel.py,loadtests/hello.py --host http://127.0.0.1:8000

The tab shows, over the last 10 seconds and since the test started: the client's latency in
µs from the recorder's histograms (from the intended send for the open model, and from the
actual send beside it), late and dropped arrivals, the server's time in the app and its
workers' CPU from its ``/metrics/state`` (read once a second while a test runs), and the
driver's busiest process. The same rows come as CSV from ``/asgi-bench/csv``, and under
``extended_stats`` (key ``asgi-bench``) in ``/stats/requests``, Locust's own extension
points: no fork of its UI.

Each Locust process counts from its test's start; a worker sends its running totals with
Locust's periodic report, and the web UI's process keeps a few seconds of them per source.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from typing import Any

import gevent
import psutil
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from asgi_bench.loadtests.panel_figures import COLUMNS, Panel, Reading
from asgi_bench.loadtests.recorder import RECORDER

TAB = "asgi-bench"
CSV_PATH = "/asgi-bench/csv"
READ_EVERY_S = 1.0
REPORT_KEY = "asgi_bench_panel"


def _sparse(counts: list[int]) -> dict[int, int]:
    return {i: n for i, n in enumerate(counts) if n}


class Counting:
    """This process's running totals since its test started."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.baseline: Reading | None = None

    def start(self) -> None:
        # The recorder counts inside its window; the web UI's window starts with the first
        # test and has no end (a run's recorder gets its window from the harness instead).
        if not math.isfinite(RECORDER.window[0]):
            RECORDER.window = (time.time(), math.inf)
        self.baseline = self._totals()

    def reading(self) -> Reading | None:
        base = self.baseline
        if base is None:
            return None
        now = self._totals()
        return Reading(
            t=now.t,
            since=base.t,
            cpu_s=now.cpu_s - base.cpu_s,
            counted=now.counted - base.counted,
            failed=now.failed - base.failed,
            late=now.late - base.late,
            dropped=now.dropped - base.dropped,
            ok=_after(now.ok, base.ok),
            uncorrected=_after(now.uncorrected, base.uncorrected),
        )

    def _totals(self) -> Reading:
        times = self.process.cpu_times()
        return Reading(
            t=time.time(),
            since=0.0,
            cpu_s=times.user + times.system,
            counted=RECORDER.counted_window,
            failed=sum(RECORDER.window_errors.values()),
            late=RECORDER.late,
            dropped=RECORDER.dropped_window,
            ok=_sparse(RECORDER.ok.counts),
            uncorrected=_sparse(RECORDER.uncorrected.counts),
        )


def _after(now: dict[int, int], base: dict[int, int]) -> dict[int, int]:
    return {i: n - base.get(i, 0) for i, n in now.items() if n != base.get(i, 0)}


COUNTING = Counting()
PANEL = Panel()


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    if environment.web_ui is not None:
        _extend(environment)
    gevent.spawn(_read_every_second, environment)


def _extend(environment: Any) -> None:
    from flask import Response, request

    web_ui = environment.web_ui
    # Kept by Locust when it refreshes its own template arguments.
    web_ui.template_args["extended_tabs"] = [{"title": TAB, "key": TAB}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB, "structure": [{"key": key, "title": title} for key, title in COLUMNS]}
    ]
    web_ui.template_args["extended_csv_files"] = [
        {"href": CSV_PATH, "title": "Download the asgi-bench figures (CSV)"}
    ]

    @web_ui.app.after_request
    def _with_panel(response: Response) -> Response:
        if request.path != "/stats/requests" or response.status_code != 200:
            return response
        data = response.get_json()
        # Locust memoizes this response for a moment: ours replaces the one it may hold.
        others = [entry for entry in data.get("extended_stats", []) if entry.get("key") != TAB]
        extended = [*others, {"key": TAB, "data": PANEL.table()}]
        response.set_data(json.dumps({**data, "extended_stats": extended}))
        return response

    @web_ui.app.route(CSV_PATH)
    def _panel_csv() -> Response:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[key for key, _ in COLUMNS])
        writer.writerow(dict(COLUMNS))
        writer.writerows(PANEL.table())
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f"attachment;filename=asgi-bench-{time.time():.0f}.csv"
            },
        )


def _read_every_second(environment: Any) -> None:
    while True:
        gevent.sleep(READ_EVERY_S)
        if environment.runner.state in ("running", "spawning"):
            _read_now(environment)


def _read_now(environment: Any) -> None:
    reading = COUNTING.reading()
    if reading is not None and not isinstance(environment.runner, MasterRunner):
        PANEL.add_client("local", reading)
    PANEL.read_server()


@events.reset_stats.add_listener
def _on_reset_stats(**_: Any) -> None:
    PANEL.reset()  # Locust's Reset button: "since start" becomes since now


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    COUNTING.start()
    if not isinstance(environment.runner, WorkerRunner):
        PANEL.start(environment.host or "")


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        _read_now(environment)  # the tab keeps the test's last figures


@events.report_to_master.add_listener
def _on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    reading = COUNTING.reading()
    if reading is not None:
        data[REPORT_KEY] = reading.to_json()


@events.worker_report.add_listener
def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if REPORT_KEY in data:
        PANEL.add_client(client_id, Reading.from_json(data[REPORT_KEY]))
