"""The native peak: wrk's figures read and judged, its rows kept out of Locust's charts and
verdicts, the same request bytes as Locust's, and a run where wrk is absent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable

import psutil
import pytest

from asgi_bench.load.native import Invocation
from asgi_bench.load.native.wrk import MARK, Wrk
from asgi_bench.report.tables import peak_table
from asgi_bench.results.layout import RepeatLayout, write_json
from asgi_bench.results.rows import Row
from asgi_bench.results.summary import apply_slo
from asgi_bench.run.native import native_client_stats
from tests.e2e import only_run, repeat_dir, rows, short_run
from tests.test_faults import harness, wait_for

WRK = shutil.which("wrk")
needs_wrk = pytest.mark.skipif(WRK is None, reason="wrk is not installed (Debian's wrk)")


def figures_line(**overrides: float) -> str:
    data = {
        "duration_us": 2_000_000,
        "requests": 1000,
        "bytes": 150_000,
        "connect": 1,
        "read": 2,
        "write": 0,
        "status": 10,
        "timeout": 3,
        "p50_us": 700,
        "p90_us": 1100,
        "p99_us": 1500,
        "p999_us": 1800,
        "max_us": 2100,
        "cpu_s": 0.8,
        **overrides,
    }
    return MARK + json.dumps(data)


def test_wrk_figures_are_read_from_its_marked_line():
    output = "Running 2s test @ http://127.0.0.1:1/\n  1000 requests in 2.00s\n" + figures_line()
    found = Wrk().parse(output)
    assert found is not None
    # 1,000 answers of which 10 had a bad status: 990 ok; 1 + 2 + 0 + 3 socket errors.
    assert (found.responses, found.ok, found.non_2xx, found.socket_errors) == (1000, 990, 10, 6)
    assert found.seconds == 2.0 and found.latency_us["p99_us"] == 1500
    assert Wrk().parse("Running 2s test\nno figures\n") is None


def test_a_native_run_reads_as_a_window_of_its_measured_run(tmp_path):
    layout = RepeatLayout(tmp_path)
    warm = Wrk().parse(figures_line(requests=400, status=0, connect=0, read=0, timeout=0))
    measured = Wrk().parse(figures_line())
    assert warm is not None and measured is not None
    write_json(
        layout.native_json,
        {
            "tool": "wrk 4.1.0",
            "threads": 2,
            "connections": 32,
            "host": "h",
            "window_start": 1000.0,
            "warmup": warm.__dict__,
            "measured": measured.__dict__,
        },
    )
    stats = native_client_stats(layout)
    assert (stats.window.start, stats.window.end) == (1000.0, 1002.0)
    assert stats.requests == 990 and stats.rps == 495.0  # 990 ok in 2 s
    assert stats.failures["non_2xx"] == 10 and stats.failures["exceptions"] == 6
    assert stats.latency_ms["p50_ms"] == 0.7 and stats.latency_ms["max_ms"] == 2.1
    # 0.8 CPU s in 2 s over 2 threads: each 20% busy.
    assert stats.driver_busy == pytest.approx(0.2)
    # Both runs counted, warm-up included; up to one request per connection in flight at
    # each of the two stops.
    assert stats.counted_total == stats.locust_total == 1400
    assert stats.in_flight_at_stop == 64 and not stats.window_counted
    assert stats.tool == "wrk 4.1.0"


def row(load: str, rps: float, **fields: object) -> Row:
    found = Row("uvicorn", "hello", f"{load}-32", load, 32, None, "ok", "", 1, 1)  # type: ignore[arg-type]
    found.values["rps"] = rps
    for name, value in fields.items():
        setattr(found, name, value)
    return found


def test_the_peak_table_shows_locust_and_the_native_tool_side_by_side():
    locust = row("closed", 12936.0, bound="driver")
    native = row("native", 49390.0, tool="wrk 4.1.0", bound="server")
    page = peak_table([locust, native])
    assert page.count("<tr>") == 2  # the header and one cell: the native row is no row here
    assert "≥12936" in page and "wrk 4.1.0" in page and "49390" in page


def test_a_native_row_is_not_judged_by_the_slo():
    locust, native = row("closed", 1000.0), row("native", 5000.0, tool="wrk")
    for r in (locust, native):
        r.values.update(p99_ms=1.0, errors=0.0)
    apply_slo([locust, native], {"hello": "p99<10ms"})
    assert locust.slo_pass is True and native.slo_pass is None and native.slo is None


def capture_request(send: Callable[[int], None]) -> bytes:
    """The bytes of the first request a client sends to a listener on loopback, its port
    written ``PORT`` (each capture listens on a port of its own)."""
    got: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve() -> None:
            while not got:  # wrk opens (and closes) a connection to check the address first
                conn, _ = listener.accept()
                with conn:
                    if data := conn.recv(65536):
                        got.append(data)
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        send(port)
        thread.join(10)
    return got[0].replace(b":%d" % port, b":PORT")


@needs_wrk
def test_wrk_sends_the_bytes_locust_sends():
    def by_wrk(port: int) -> None:
        argv = [str(WRK), "-t1", "-c1", "-d1s", f"http://127.0.0.1:{port}/"]
        subprocess.run(argv, capture_output=True, timeout=30, check=False)

    def by_locust(port: int) -> None:
        code = (
            "from asgi_bench.loadtests.rawhttp import Connection;"
            f"print(Connection('127.0.0.1', {port}).request(b'GET', b'/'))"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)

    wrk, locust = capture_request(by_wrk), capture_request(by_locust)
    assert wrk == locust == b"GET / HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n\r\n"


@needs_wrk
@pytest.mark.integration
def test_a_quick_closed_loop_is_followed_by_wrk_with_the_same_connections(out):
    proc = short_run(out, "--servers", "uvicorn", "--apps", "hello", users=2, native=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    found = {r["load"]: r for r in rows(run_dir)}
    locust, native = found["closed"], found["native"]
    assert native["step"] == "native-wrk-2c" and native["users"] == 2
    assert native["status"] == "ok", native["reason"]
    assert native["tool"].startswith("wrk ") and native["rps"] > 0
    # wrk's count over both of its runs is what the server counted, give or take one
    # request per connection at each stop; its rows are never judged by the SLO.
    assert native["count_check"] == "ok", native["count_detail"]
    assert native["slo_pass"] is None and locust["slo_pass"] is not None
    assert native["driver_busy"] is not None and native["cpu_us_per_request"] > 0
    folder = repeat_dir(run_dir, "uvicorn", "hello", native["step"])
    assert (folder / "native.json").exists() and (folder / "native-warmup.log").exists()
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["settings"]["native_peak"].startswith("native peak: wrk ")
    assert "uvicorn/hello/native-wrk-2c/r1" in manifest["plan"]["order"]
    page = (run_dir / "report.html").read_text()
    assert "native req/s" in page and native["tool"] in page


@pytest.mark.integration
def test_a_run_without_wrk_says_so_and_passes(out, tmp_path):
    # A PATH with this Python and nothing else: no wrk to be found.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(sys.executable, bin_dir / "python")
    env = {**os.environ, "PATH": str(bin_dir)}
    proc = short_run(out, "--servers", "uvicorn", "--apps", "hello", env=env, native=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    assert [r["load"] for r in rows(run_dir)] == ["closed"]
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["settings"]["native_peak"] == (
        "native peak: skipped, wrk is not installed (Debian's wrk)"
    )
    assert "wrk is not installed" in proc.stdout.replace("\n", " ")


def wrk_child(proc: subprocess.Popen[str]) -> psutil.Process | None:
    """The harness's wrk process driving load, by its executable's name (the test's own
    folder, in every child's command line, is named for the test) and a URL among its
    arguments: the ``wrk -v`` that reads its version at start-up is not it."""
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if child.name() == "wrk" and any(a.startswith("http") for a in child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


@needs_wrk
@pytest.mark.integration
def test_ctrl_c_while_wrk_runs_leaves_a_valid_result_and_no_process(out):
    args = ["run", "--servers", "uvicorn", "--apps", "hello", "--out", str(out)]
    with harness(*args, "--duration", "20", "--warmup", "1", "--users", "2") as proc:
        # Locust's short window first; then wrk's 20 s one: interrupted inside it.
        wait_for(lambda: wrk_child(proc) is not None, timeout=120)
        wrk = wrk_child(proc)
        assert wrk is not None
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl+C reaches the whole group
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert not wrk.is_running() or wrk.status() == psutil.STATUS_ZOMBIE
    run_dir = only_run(out)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["interrupted"] is True and manifest["interrupted_by"] == "SIGINT"
    found = {r["load"]: r for r in rows(run_dir)}
    assert found["closed"]["status"] == "ok"
    assert found["native"]["status"] == "failed"
    assert found["native"]["reason"] == "interrupted (SIGINT)"


def test_wrk_is_given_whole_seconds_and_no_more_threads_than_asked():
    # wrk refuses "2.5s" with its usage text: a 2.5 s window runs for 3.
    argv = Wrk().argv(Invocation("http://127.0.0.1:1/", 32, 2, 2.5, script="report.lua"))
    assert "-d3s" in argv and "-t2" in argv and "-c32" in argv
    assert argv[-1] == "http://127.0.0.1:1/" and argv[argv.index("-s") + 1] == "report.lua"
