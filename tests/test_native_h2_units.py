"""HTTP/2's native peak, without a process: h2load's command lines, its summary and
per-request log read into figures (percentiles worked out by hand), which closed-loop steps
it follows, the step it drives, the run's note and a native.json read back. What needs a
real h2load (the bytes it sends, its CPU from wait4, a run) is in test_native_h2.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.errors import DriverError
from asgi_bench.load.closed import Closed
from asgi_bench.load.http import Http
from asgi_bench.load.native import NATIVE_TOOLS, Invocation, Native, follows, get_tool
from asgi_bench.load.native.h2load import TLS13_CIPHERS, H2load
from asgi_bench.load.native.wrk import Wrk
from asgi_bench.load.open import Open
from asgi_bench.results.layout import RepeatLayout, write_json
from asgi_bench.run.native import native_client_stats
from asgi_bench.workloads import WORKLOADS

HELLO = WORKLOADS["hello"]
H2 = Http("2", streams=8)
T0 = 1_765_000_000_000_000  # µs since the epoch: 2025-12-06 05:46:40 UTC


# -- the command line ---------------------------------------------------------------------


def test_h2c_argv_has_the_steps_connections_streams_and_threads():
    argv = H2load().argv(Invocation("http://127.0.0.1:8001/", 4, 1, 2.5, streams=8, log="r.tsv"))
    assert argv == [
        "h2load",
        "-c4",  # connections: 32 users at 8 streams
        "-m8",  # streams per connection
        "-t1",
        "-D",
        "2500ms",  # -D takes milliseconds: 2.5 s is not rounded up, as wrk's is
        "-w24",  # flow-control windows: 2**24 - 1, ours 2**24
        "-W24",
        "-H",
        ":authority: 127.0.0.1:8001",
        "--log-file=r.tsv",
        "--no-tls-proto=h2c",  # prior knowledge, said
        "http://127.0.0.1:8001/",
    ]


def test_h2_over_tls_offers_h2_alone_and_pythons_tls13_ciphers():
    argv = H2load().argv(Invocation("https://127.0.0.1:8443/", 6, 2, 30.0, streams=16))
    assert argv[1:6] == ["-c6", "-m16", "-t2", "-D", "30000ms"]
    # No fallback to HTTP/1.1 where ALPN would pick it; the same TLS 1.3 offer as ours.
    assert "--npn-list=h2" in argv and f"--tls13-ciphers={TLS13_CIPHERS}" in argv
    assert TLS13_CIPHERS.split(":")[0] == "TLS_AES_256_GCM_SHA384"
    assert not any(a.startswith(("--no-tls-proto", "--log-file")) for a in argv)
    assert "native.lua" not in argv  # wrk's script is not h2load's
    assert argv[-1] == "https://127.0.0.1:8443/"


def test_the_authority_keeps_a_default_port_as_ours_does():
    # h2load drops ":443" from :authority; our client always sends HOST:PORT.
    argv = H2load().argv(Invocation("https://localhost/", 1, 1, 1.0))
    assert argv[argv.index("-H") + 1] == ":authority: localhost:443"


def test_wrk_argv_is_as_it_was():
    argv = Wrk().argv(Invocation("http://127.0.0.1:1/", 32, 2, 2.5, script="report.lua"))
    assert argv == [
        "wrk",
        "-t2",
        "-c32",
        "-d3s",
        "--timeout",
        "10s",
        "-s",
        "report.lua",
        "http://127.0.0.1:1/",
    ]


# -- its figures --------------------------------------------------------------------------


def summary(succeeded: int, failed: int, errored: int, s2: int, s3: int, s5: int) -> str:
    """h2load 1.52.0's output of a 1 s run, as h2load.cc prints it."""
    return (
        "starting benchmark...\n"
        "spawning thread #0: 4 total client(s). Timing-based test with 0s of warm-up time "
        "and 1s of main duration for measurements.\n"
        "Warm-up started for thread #0.\n"
        "Warm-up phase is over for thread #0.\n"
        "Main benchmark duration is started for thread #0.\n"
        "Main benchmark duration is over for thread #0. Stopping all clients.\n"
        "Stopped all clients for thread #0\n"
        "\n"
        f"finished in 1.01s, {succeeded + failed - errored:.2f} req/s, 120.31KB/s\n"
        f"requests: {succeeded + failed} total, {succeeded + failed + 32} started, "
        f"{succeeded + failed} done, {succeeded} succeeded, {failed} failed, "
        f"{errored} errored, 0 timeout\n"
        f"status codes: {s2} 2xx, {s3} 3xx, 0 4xx, {s5} 5xx\n"
        "traffic: 120.31KB (123200) total, 9.77KB (10000) headers (space savings 90.00%), "
        "11.72KB (12000) data\n"
        "                     min         max         mean         sd        +/- sd\n"
        "time for request:        1us      5.00ms       26us      160us    99.70%\n"
        "time for connect:      150us       210us       180us        25us    50.00%\n"
        "time to 1st byte:      400us       500us       450us        40us    50.00%\n"
        "req/s           :     250.00      251.00      250.75        0.43    75.00%\n"
    )


def write_log(path: Path) -> None:
    """1,000 answers 200 taking 1, 2, ... 1,000 µs; three 503s of 5 ms; two failed streams;
    shuffled, as several threads may write them."""
    lines = [f"{T0 + 1000 * i}\t200\t{i}" for i in range(1, 1001)]
    lines += [f"{T0 + start}\t503\t5000" for start in (500, 1500, 2500)]
    lines += [f"{T0}\t-1\t0", f"{T0 + 7}\t-1\t40"]
    random.Random(7).shuffle(lines)
    path.write_text("\n".join(lines) + "\n")


def test_h2load_figures_come_from_its_summary_and_its_log(tmp_path):
    log = tmp_path / "native-requests.tsv"
    write_log(log)
    # 1,000 succeeded; 3 answered 503 and 2 errored are its 5 failed: 1,003 answered.
    found = H2load().parse(summary(1000, 5, 2, 1000, 0, 3), log)
    assert found is not None
    assert (found.responses, found.ok, found.non_2xx, found.socket_errors) == (1003, 1000, 3, 2)
    # The 200s alone, 1..1000 µs once each: the value at percentile p is the
    # round(p/100 x 1000)-th smallest, which is itself (all under 2,048 µs, where the HDR
    # histogram's buckets are 1 µs wide): 500, 900, 990, 999; the 503s' 5 ms is no max.
    assert found.latency_us == {
        "p50_us": 500,
        "p90_us": 900,
        "p99_us": 990,
        "p999_us": 999,
        "max_us": 1000,
    }
    # Its span: the first failed stream's start (T0) to the end of the last 200
    # (T0 + 1,000,000 + 1,000 µs).
    assert found.started == T0 / 1e6 == 1_765_000_000.0
    assert found.seconds == pytest.approx(1.001)
    assert found.cpu_s is None  # not its to say: NativeRun puts in the kernel's account
    assert found.histogram  # kept, base64, as Locust's rows keep theirs


def test_only_a_status_of_200_299_is_a_success(tmp_path):
    # 0 is what h2load logs for a stream answered in a warm-up phase, which is not used:
    # answered, not timed among the successes.
    log = tmp_path / "log.tsv"
    log.write_text(f"{T0}\t0\t300\n{T0 + 10}\t200\t100\n")
    found = H2load().parse(summary(2, 0, 0, 1, 0, 0), log)
    assert found is not None and (found.responses, found.non_2xx) == (2, 1)
    assert found.latency_us["p50_us"] == 100 and found.latency_us["max_us"] == 100


def test_a_log_that_disagrees_with_the_summary_is_an_error(tmp_path):
    log = tmp_path / "log.tsv"
    write_log(log)
    with pytest.raises(DriverError, match=r"log holds 1003 answers \(1000 2xx\), its summary 1004"):
        H2load().parse(summary(1001, 5, 2, 1001, 0, 3), log)
    log.write_text(f"{T0}\t200\n")
    with pytest.raises(DriverError, match="line 1: not start, status"):
        H2load().parse(summary(1, 0, 0, 1, 0, 0), log)


def test_no_summary_no_figures(tmp_path):
    output = "starting benchmark...\nNo supported protocol was negotiated.\n"
    assert H2load().parse(output) is None
    assert H2load().parse(output, tmp_path / "never-written.tsv") is None


def test_the_warm_up_is_counted_from_its_summary_alone():
    found = H2load().parse(summary(998, 3, 1, 990, 8, 2))
    assert found is not None
    # 998 + 3 - 1 = 1000 answered; not 2xx: 8 3xx and 2 5xx; no latencies without a log.
    assert (found.responses, found.non_2xx, found.socket_errors) == (1000, 10, 1)
    assert found.seconds == 1.01 and found.latency_us == {} and found.started is None


# -- which steps it follows, and the step it drives ---------------------------------------


def test_follows_http2_closed_steps_when_h2load_is_the_tool():
    h2, h1 = Closed(32, 100.0, H2), Closed(32, 100.0)
    assert follows(h2, HELLO, H2load()) and follows(h2, HELLO)
    assert not follows(h2, HELLO, Wrk())
    assert follows(h1, HELLO, Wrk()) and not follows(h1, HELLO, H2load())
    # 30 users at 8 streams: h2load's 4 connections would hold 32 in flight.
    assert not follows(Closed(30, 100.0, H2), HELLO, H2load())
    # Each Locust process keeps its own connections: 32 users in 2 processes are 2 x 2 full
    # connections; in 3 (11, 11, 10 users) 6 partly filled; in 8, 4 users to a process.
    assert follows(h2, HELLO, H2load(), processes=2)
    assert not follows(h2, HELLO, H2load(), processes=3)
    assert not follows(h2, HELLO, H2load(), processes=8)
    assert follows(h1, HELLO, Wrk(), processes=3)  # one connection a user, wherever it is
    assert not follows(Open(1000.0, http=H2), HELLO, H2load())
    assert not follows(h2, WORKLOADS["streaming"], H2load())  # no native_path


def test_the_native_step_has_the_closed_steps_requests_in_flight():
    step = Native.after(Closed(32, 100.0, H2), "h2load")
    assert (step.connections, step.users, step.http) == (4, 32, H2)
    assert step.id == "native-h2load-4c-h2" and step.concurrency(2) == 32
    assert step.describe() == (
        "4 connections, closed loop, driven by h2load, HTTP/2, 8 streams per connection"
    )
    wrk = Native.after(Closed(32, 100.0), "wrk")
    assert wrk == Native(32, "wrk") and wrk.id == "native-wrk-32c" and wrk.users == 32


# -- the run's note -----------------------------------------------------------------------


class FakeTool:
    def __init__(self, name: str, http: str, version: str) -> None:
        self.name, self.http, self._version = name, http, version

    def version(self) -> str:
        return self._version


def note(monkeypatch: pytest.MonkeyPatch, installed: set[str], *versions: str) -> object:
    """What _native says of hello's 32-user closed loop at ``versions``, where the tools
    named in ``installed`` are (no process is asked: find_tool is replaced)."""
    fakes = {
        "1.1": FakeTool("wrk", "1.1", "wrk debian/4.1.0-3+b2"),
        "2": FakeTool("h2load", "2", "h2load nghttp2/1.52.0"),
    }

    def find_tool(http: str = "1.1") -> FakeTool | None:
        tool = fakes[http]
        return tool if tool.name in installed else None

    monkeypatch.setattr("asgi_bench.config.find_tool", find_tool)
    steps = {
        "hello": tuple(Closed(32, 100.0, Http(v, 8) if v == "2" else Http()) for v in versions)
    }
    return RunConfig()._native((HELLO,), steps, 1)


def test_the_note_names_each_versions_tool(monkeypatch):
    both = note(monkeypatch, {"wrk", "h2load"}, "1.1", "2")
    assert both == (
        {"1.1": "wrk", "2": "h2load"},
        "native peak: wrk debian/4.1.0-3+b2 after each HTTP/1.1 closed-loop step; "
        "h2load nghttp2/1.52.0 after each HTTP/2 closed-loop step",
    )
    assert note(monkeypatch, {"wrk", "h2load"}, "2") == (
        {"2": "h2load"},
        "native peak: h2load nghttp2/1.52.0 after each closed-loop step",
    )


def test_an_absent_tool_is_skipped_with_a_note(monkeypatch):
    assert note(monkeypatch, {"wrk"}, "1.1", "2") == (
        {"1.1": "wrk"},
        "native peak: wrk debian/4.1.0-3+b2 after each HTTP/1.1 closed-loop step; "
        "skipped at HTTP/2, h2load is not installed (Debian's nghttp2-client)",
    )
    assert note(monkeypatch, set(), "2") == (
        {},
        "native peak: skipped, h2load is not installed (Debian's nghttp2-client)",
    )
    # An HTTP/1.1 run says what it said before.
    assert note(monkeypatch, set(), "1.1") == (
        {},
        "native peak: skipped, wrk is not installed (Debian's wrk)",
    )


def test_the_tools_table_holds_one_tool_a_version():
    assert {name: get_tool(name).http for name in NATIVE_TOOLS} == {
        "wrk": "1.1",
        "h2load": "2",
    }
    assert get_tool("h2load").package == "Debian's nghttp2-client"
    assert not get_tool("h2load").reports_cpu and get_tool("wrk").reports_cpu


# -- native.json read back ----------------------------------------------------------------


def test_an_h2load_run_reads_as_a_window_from_its_first_request(tmp_path):
    log = tmp_path / "native-requests.tsv"
    write_log(log)
    measured = H2load().parse(summary(1000, 5, 2, 1000, 0, 3), log)
    warm = H2load().parse(summary(400, 0, 0, 400, 0, 0))
    assert measured is not None and warm is not None
    layout = RepeatLayout(tmp_path)
    write_json(
        layout.native_json,
        {
            "tool": "h2load nghttp2/1.52.0",
            "threads": 1,
            "connections": 4,
            "http": "2",
            "in_flight": 32,
            "host": "h",
            "window_start": measured.started,
            "warmup": {**warm.__dict__, "cpu_s": 0.1},
            "measured": {**measured.__dict__, "cpu_s": 0.5005},
        },
    )
    stats = native_client_stats(layout)
    assert stats.window.start == 1_765_000_000.0
    assert stats.window.seconds == pytest.approx(1.001)
    assert stats.requests == 1000 and stats.rps == pytest.approx(1000 / 1.001)
    assert stats.failures["non_2xx"] == 3 and stats.failures["exceptions"] == 2
    assert stats.latency_ms["p99_ms"] == 0.99 and stats.latency_ms["max_ms"] == 1.0
    assert stats.driver_busy == pytest.approx(0.5)  # 0.5005 CPU s in 1.001 s, one thread
    # Both runs counted; up to 8 streams on each of 4 connections in flight at each stop.
    assert stats.counted_total == 1003 + 400 and stats.in_flight_at_stop == 64
    assert stats.histogram == measured.histogram and stats.tool == "h2load nghttp2/1.52.0"


def test_a_run_with_no_2xx_answer_reads_with_no_latency(tmp_path):
    # Every stream answered 503: h2load's log holds no latency to read, and the row must
    # still be judged (failed: no success), not stop the run on a missing percentile.
    log = tmp_path / "native-requests.tsv"
    log.write_text("".join(f"{T0 + 100 * i}\t503\t{50 + i}\n" for i in range(10)))
    measured = H2load().parse(summary(0, 10, 0, 0, 0, 10), log)
    assert measured is not None and measured.latency_us == {}
    layout = RepeatLayout(tmp_path)
    record = {"tool": "h2load", "threads": 1, "connections": 1, "window_start": T0 / 1e6}
    write_json(layout.native_json, {**record, "warmup": None, "measured": measured.__dict__})
    stats = native_client_stats(layout)
    assert stats.requests == 0 and stats.failures["non_2xx"] == 10
    assert stats.latency_ms == dict.fromkeys(["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"])


def test_an_unknown_cpu_is_no_busy_figure_and_an_older_record_still_reads(tmp_path):
    layout = RepeatLayout(tmp_path)
    figures = Wrk().parse(
        'ASGI-BENCH-NATIVE {"duration_us": 2000000, "requests": 100, "bytes": 1, "connect": 0, '
        '"read": 0, "write": 0, "status": 0, "timeout": 0, "p50_us": 1, "p90_us": 2, '
        '"p99_us": 3, "p999_us": 4, "max_us": 5, "cpu_s": 0.2}'
    )
    assert figures is not None
    old = {k: v for k, v in figures.__dict__.items() if k not in ("started", "histogram")}
    record = {"tool": "wrk 4.1.0", "threads": 1, "connections": 32, "window_start": 10.0}
    write_json(layout.native_json, {**record, "warmup": None, "measured": old})
    stats = native_client_stats(layout)  # no "in_flight", "started" or "histogram"
    assert stats.in_flight_at_stop == 32 and stats.window.start == 10.0
    assert stats.driver_busy == pytest.approx(0.1)
    write_json(layout.native_json, {**record, "warmup": None, "measured": {**old, "cpu_s": None}})
    assert native_client_stats(layout).driver_busy is None
