"""Pure functions and value objects: registry, config, CPU lists, results, quantiles."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from asgi_bench.collectors.scrape import parse, quantile
from asgi_bench.config import QUICK_DURATION, RunConfig
from asgi_bench.cpus import available_cpus, parse_cpus
from asgi_bench.errors import UsageError
from asgi_bench.results import CSV_FIELDS, CellResult
from asgi_bench.servers import SERVERS, LaunchOptions, get_server
from asgi_bench.workloads import WORKLOADS, custom_workload, get_workload

SUMMARY_FIELDS = [
    "server",
    "app",
    "status",
    "reason",
    "requests",
    "rps",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "errors",
    "cpu_us_per_request",
    "peak_rss_mb",
    "driver_bound",
    "server_requests",
    "server_p50_ms",
    "server_p90_ms",
    "server_p99_ms",
    "server_ttfb_p50_ms",
]


def test_six_configs_in_the_registry():
    assert set(SERVERS) == {
        "uvicorn",
        "uvicorn-h11",
        "hypercorn",
        "hypercorn-uvloop",
        "granian",
        "daphne",
    }


def test_granian_always_gets_the_asgi_interface():
    argv = get_server("granian").argv(LaunchOptions("asgi_bench.apps.hello:app", "127.0.0.1", 8000))
    assert argv[argv.index("--interface") + 1] == "asgi"


def test_tls_flags_per_server():
    options = LaunchOptions("a:b", "127.0.0.1", 9000, certfile="/c.pem", keyfile="/k.pem")
    uvicorn = get_server("uvicorn").argv(options)
    assert uvicorn[uvicorn.index("--ssl-certfile") + 1] == "/c.pem"
    assert "--ssl-certificate" in get_server("granian").argv(options)
    assert "--certfile" in get_server("hypercorn").argv(options)
    daphne = get_server("daphne").argv(options)
    assert "ssl:9000:interface=127.0.0.1:privateKey=/k.pem:certKey=/c.pem" in daphne


def test_worker_flag_and_daphne_without_workers():
    options = LaunchOptions("a:b", "127.0.0.1", 9000, workers=3)
    argv = get_server("uvicorn").argv(options)
    assert argv[argv.index("--workers") + 1] == "3"
    assert "has no worker count" in (get_server("daphne").unsupported(options) or "")


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UsageError, match="choose from: uvicorn, uvicorn-h11"):
        get_server("nginx")
    with pytest.raises(UsageError, match="choose from: hello, streaming"):
        get_workload("nope")


@pytest.mark.parametrize(
    "argv", [["run", "--servers", "nginx"], ["run", "--apps", "x"], ["serve", "bogus", "hello"]]
)
def test_cli_unknown_name_exits_2_with_one_line(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "asgi_bench", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "choose from" in proc.stderr


def test_custom_app_needs_module_and_attribute(tmp_path):
    with pytest.raises(UsageError, match="bad --app"):
        custom_workload("mypkg", None)
    with pytest.raises(UsageError, match="does not exist"):
        custom_workload("mypkg.mod:app", str(tmp_path / "missing.py"))
    assert custom_workload("mypkg.mod:app", None).locustfile.name == "default.py"


def test_quick_shortens_only_unset_fields():
    assert RunConfig(quick=True).resolved().duration == QUICK_DURATION
    assert RunConfig(quick=True, duration=3).resolved().duration == 3
    with pytest.raises(UsageError, match="--users must be at least 1"):
        RunConfig(users=0).resolved()


def test_cpu_lists():
    first = available_cpus()[0]
    assert parse_cpus(f"{first}") == (first,)
    with pytest.raises(UsageError, match="bad CPU list"):
        parse_cpus("zero")
    with pytest.raises(UsageError, match="not within"):
        parse_cpus("4096")


def test_every_builtin_workload_has_its_locustfile():
    for workload in WORKLOADS.values():
        assert workload.locustfile.is_file(), workload.name


def test_summary_has_the_documented_fields():
    assert set(SUMMARY_FIELDS) <= set(CSV_FIELDS)


def test_cell_round_trips_through_json_with_nan():
    cell = CellResult("uvicorn", "hello", status="ok", requests=10, capabilities={"sse": True})
    again = CellResult.from_dict(cell.to_dict())
    assert again.requests == 10 and again.capabilities == {"sse": True}
    assert math.isnan(again.p50_ms)


def test_histogram_quantile_from_deltas():
    start = {0.001: 10.0, 0.01: 10.0, float("inf"): 10.0}
    end = {0.001: 10.0, 0.01: 110.0, float("inf"): 110.0}
    # All 100 new observations fall in (1 ms, 10 ms]: the median is interpolated to 5.5 ms.
    assert quantile(0.5, start, end) == pytest.approx(0.0055)
    assert math.isnan(quantile(0.5, end, end))


def test_parse_sums_series_across_labels():
    text = (
        'asgi_requests_total{route="/",status="200"} 3\n'
        'asgi_requests_total{route="/x",status="404"} 2\n'
        'asgi_websocket_messages_total{direction="in"} 7\n'
        'asgi_websocket_messages_total{direction="out"} 7\n'
    )
    snap = parse(text, 0.0)
    assert snap.requests == 5
    assert snap.ws_messages_in == 7


def test_the_harness_never_imports_locust():
    # locust monkey-patches its process with gevent: it must only run in its own processes.
    code = (
        "import sys, asgi_bench.cli, asgi_bench.runner, asgi_bench.report, "
        "asgi_bench.analysis, asgi_bench.probes, collectors.scrape; "
        "print('locust' in sys.modules, 'gevent' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_targets_must_be_on_loopback():
    config = RunConfig(targets=("uvicorn=http://127.0.0.1:8001", "granian=http://localhost:8005"))
    assert config.target_urls()["uvicorn"] == "http://127.0.0.1:8001"
    assert config.resolved().servers == ("uvicorn", "granian")
    with pytest.raises(UsageError, match="not on loopback"):
        RunConfig(targets=("uvicorn=http://10.0.0.5:8001",)).target_urls()
    with pytest.raises(UsageError, match="bad --targets entry"):
        RunConfig(targets=("uvicorn",)).target_urls()


def test_split_host_keeps_the_mount_prefix():
    from asgi_bench.loadtests.support import split_host

    assert split_host("https://127.0.0.1:8001/streaming/") == (
        "https",
        "127.0.0.1",
        8001,
        "/streaming",
    )
    assert split_host("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000, "")


def test_parse_can_keep_one_mounted_app():
    text = (
        'asgi_requests_total{route="/hello/",status="200"} 3\n'
        'asgi_requests_total{route="/streaming/chunked",status="200"} 2\n'
        'asgi_requests_in_progress{server="uvicorn"} 1\n'
    )
    snap = parse(text, 0.0, "/hello")
    assert snap.requests == 3
    # Without a route label, in-progress is server-wide: draining must still see it.
    assert snap.in_progress == 1


def test_healthcheck_sees_only_its_own_listeners():
    import socket

    from asgi_bench.healthcheck import listening_here

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert listening_here(port)
    assert not listening_here(port)


def test_a_cell_with_failing_requests_is_failed_not_fast():
    from asgi_bench.cell import _judge

    cell = CellResult("granian", "hello", requests=50_000, errors=50_000, non_2xx=50_000)
    status, reason = _judge(cell, RunConfig())
    assert status == "failed"
    assert reason.startswith("100% of requests failed (non-2xx 50000")
    cell.errors = cell.non_2xx = 10  # 0.02%: within --max-error-rate
    assert _judge(cell, RunConfig())[0] == "ok"
