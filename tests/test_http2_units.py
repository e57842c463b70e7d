"""The HTTP version axis without a server: the steps it plans, the flags a server gets, the
settings run.json records, capacities kept apart, and the HTTP/1.1 vs HTTP/2 table."""

from __future__ import annotations

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.errors import UsageError
from asgi_bench.load.http import Http
from asgi_bench.report.protocols import pairs, protocol_table
from asgi_bench.results.capacity import capacities
from asgi_bench.results.rows import Row
from asgi_bench.results.summary import apply_slo
from asgi_bench.servers import LaunchOptions, get_server
from tests.constructed import open_row


def test_each_step_is_planned_at_each_version_for_the_apps_that_speak_it():
    settings = RunConfig(
        apps=("hello", "websocket"), rates="300", http="1.1,2", streams=4, load_shape="both"
    ).load()
    assert [s.id for s in settings.steps["hello"]] == [
        "open-300rps", "closed-32u", "open-300rps-h2", "closed-32u-h2",
    ]  # fmt: skip
    # The WebSocket users have an HTTP/1.1 client of their own: no HTTP/2 steps, and said.
    assert [s.id for s in settings.steps["websocket"]] == ["open-300rps", "closed-32u"]
    h2 = settings.steps["hello"][2]
    assert h2.environment()["ASGI_BENCH_HTTP"] == "2"
    assert h2.environment()["ASGI_BENCH_STREAMS"] == "4"
    assert "ASGI_BENCH_HTTP" not in settings.steps["hello"][0].environment()
    recorded = settings.describe()["http"]
    assert recorded == {"versions": ["1.1", "2"], "streams": 4, "http1_only": ["websocket"]}


def test_the_default_is_http_1_1_and_step_ids_stay_as_they_were():
    settings = RunConfig(apps=("hello",), rates="300").load()
    assert [s.id for s in settings.steps["hello"]] == ["open-300rps"]
    assert settings.https == (Http(),)


@pytest.mark.parametrize(
    ("http", "message"),
    [
        ("3", "unknown --http version '3'; choose from: 1.1, 2"),
        ("1.1,1.1", "--http '1.1,1.1' names no version, or one twice"),
        ("", "--http '' names no version, or one twice"),
    ],
)
def test_a_bad_http_list_is_one_line_naming_it(http, message):
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(")):
        RunConfig(apps=("hello",), http=http).load()


def test_http2_alone_for_apps_without_an_http2_driver_is_refused():
    with pytest.raises(UsageError, match="none of these apps has an HTTP/2 driver; hello"):
        RunConfig(apps=("websocket",), http="2").load()


def test_streams_must_be_at_least_one():
    with pytest.raises(UsageError, match="--streams must be at least 1, got 0"):
        RunConfig(apps=("hello",), http="2", streams=0).load()


def test_only_an_http2_step_adds_a_servers_http2_flags():
    h1 = LaunchOptions("a:b", "127.0.0.1", 9000)
    h2 = LaunchOptions("a:b", "127.0.0.1", 9000, http="2")
    gunicorn = get_server("gunicorn")
    assert "--http-protocols" not in gunicorn.argv(h1)
    argv = gunicorn.argv(h2)
    assert argv[argv.index("--http-protocols") + 1] == "h2,h1"
    assert argv[argv.index("--http2-cleartext") + 1] == "both"  # HTTP/1.1 answered too
    # hypercorn and granian offer h2 and h2c by default: nothing to add, nothing claimed.
    assert get_server("hypercorn").argv(h2) == get_server("hypercorn").argv(h1)


def _row(http: str, rate: float, p50: float, p99: float, cpu: float, **extra: object) -> Row:
    row = open_row(
        "hypercorn", "hello", rate, http=http, streams=8 if http == "2" else None,
        p50_ms=p50, p99_ms=p99, cpu_us_per_request=cpu, **extra,
    )  # fmt: skip
    row.counts.update(errors=0, requests=1000)
    return row


def test_the_protocol_table_pairs_the_same_server_app_and_rate():
    # 300 req/s both ways: 0.80 ms vs 1.00 ms p50 is 0.80x, 120 vs 150 µs CPU 0.80x. 1200
    # over HTTP/2 only has no pair; a driver-limited HTTP/1.1 row is not the server's.
    rows = [
        _row("1.1", 300, 1.00, 2.50, 150.0),
        _row("2", 300, 0.80, 2.00, 120.0),
        _row("2", 1200, 0.90, 3.00, 110.0),
        _row("1.1", 600, 1.20, 3.00, 140.0, bound="driver"),
        _row("2", 600, 1.10, 2.90, 130.0),
    ]
    found = pairs(rows)
    assert [(a.offered_rps, b.offered_rps) for a, b in found] == [(300, 300)]
    table = protocol_table(rows)
    assert table.count("0.80x") == 3 and ">8<" in table  # p50, p99 (2.00 / 2.50), CPU
    assert protocol_table([rows[0], rows[2]]) == ""


def test_capacities_are_found_per_http_version():
    # Over HTTP/1.1 300 met p99<3ms and 600 missed; over HTTP/2 both met it.
    rows = [
        _row("1.1", 300, 1.0, 2.5, 150.0),
        _row("1.1", 600, 1.0, 3.5, 150.0),
        _row("2", 300, 1.0, 2.0, 120.0),
        _row("2", 600, 1.0, 2.8, 120.0),
    ]
    apply_slo(rows, {"hello": "p99<3ms"})
    found = {c.http: (c.capacity_rps, c.limited_by) for c in capacities(rows)}
    assert found == {"1.1": (300, "slo"), "2": (600, "untested")}
