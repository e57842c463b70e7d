"""Pure functions and value objects: registry, config, CPU lists, results, quantiles."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asgi_bench.config import QUICK_DEFAULTS, RunConfig, target_urls
from asgi_bench.errors import UsageError
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import CSV_FIELDS
from asgi_bench.servers import SERVERS, LaunchOptions, get_server
from asgi_bench.system.cpus import available_cpus, parse_cpus
from asgi_bench.workloads import WORKLOADS, custom_workload, get_workload

SUMMARY_FIELDS = [
    "server",
    "app",
    "step",
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
    "peak_rss_mib",
    "bound",
    "driver_busy",
    "server_busy",
    "count_check",
    "app_p50_ms",
    "app_p90_ms",
    "app_p99_ms",
    "ttfb_p50_ms",
    "first_p50_ms",
]


def test_eight_configs_in_the_registry():
    assert set(SERVERS) == {
        "uvicorn",
        "uvicorn-h11",
        "hypercorn",
        "hypercorn-uvloop",
        "granian",
        "daphne",
        "gunicorn-uvicorn",
        "gunicorn",
    }


def test_gunicorn_configs_pick_their_worker_and_honour_workers_and_tls():
    options = LaunchOptions(
        "a:b", "127.0.0.1", 9000, workers=2, certfile="/c.pem", keyfile="/k.pem"
    )
    for name, worker in (
        ("gunicorn-uvicorn", "uvicorn_worker.UvicornWorker"),
        ("gunicorn", "asgi"),
    ):
        argv = get_server(name).argv(options)
        assert argv[argv.index("--worker-class") + 1] == worker, name
        assert argv[argv.index("--workers") + 1] == "2", name
        assert argv[argv.index("--bind") + 1] == "127.0.0.1:9000", name
        assert argv[argv.index("--certfile") + 1] == "/c.pem", name
        assert argv[argv.index("--keyfile") + 1] == "/k.pem", name


def test_granian_always_gets_the_asgi_interface():
    options = LaunchOptions("asgi_bench.apps.hello:app", "127.0.0.1", 8000)
    argv = get_server("granian").argv(options)
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


def test_an_explicit_duration_wins_over_quick():
    assert RunConfig(quick=True).load().duration == QUICK_DEFAULTS["duration"]
    # The default value given explicitly still wins (unset is None, not "equal to default").
    assert RunConfig(quick=True, duration=30).load().duration == 30
    assert RunConfig(quick=True, duration=3, warmup=1).load().warmup == 1
    assert RunConfig().load().duration == 30


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RunConfig(users=0), "--users must be at least 1, got 0"),
        (RunConfig(duration=float("nan")), "--duration must be a finite number > 0, got nan"),
        (RunConfig(duration=float("inf")), "--duration must be a finite number > 0, got inf"),
        (RunConfig(warmup=-1), "--warmup must be a finite number >= 0, got -1"),
        (RunConfig(max_error_rate=-1), "--max-error-rate must be a share between 0 and 1"),
        (RunConfig(spawn_rate=0), "--spawn-rate must be a finite number > 0"),
        (RunConfig(servers=("uvicorn", "uvicorn")), "--servers names 'uvicorn' twice"),
        (RunConfig(apps=()), "--apps is empty; choose from: hello"),
        (RunConfig(servers=()), "--servers is empty; choose from: uvicorn"),
        (RunConfig(server_cpus="abc"), "bad --server-cpus 'abc'"),
        (RunConfig(server_cpus="99"), "--server-cpus '99' is not within the CPUs available"),
        (RunConfig(locustfile="x.py"), "--locustfile needs --app"),
    ],
)
def test_bad_values_are_one_line_naming_the_value(config, message):
    with pytest.raises(UsageError) as info:
        config.load()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_overlapping_cpu_sets_are_refused():
    if len(available_cpus()) < 2:
        pytest.skip("needs two CPUs")
    first = available_cpus()[0]
    with pytest.raises(UsageError, match="overlap"):
        RunConfig(server_cpus=str(first), driver_cpus=str(first)).load()


def test_an_app_that_does_not_import_is_refused_before_any_server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"cannot be imported.*module 'nosuchmod'"):
        RunConfig(app="nosuchmod:app").load()
    (tmp_path / "mine.py").write_text("app = None\n")
    with pytest.raises(UsageError, match="has no attribute 'nope'"):
        RunConfig(app="mine:nope").load()
    assert RunConfig(app="mine:app").load().workloads[0].name == "mine"


def test_cpu_lists():
    first = available_cpus()[0]
    assert parse_cpus(f"{first}") == (first,)
    with pytest.raises(UsageError, match="bad CPU list"):
        parse_cpus("zero")
    with pytest.raises(UsageError, match="not within"):
        parse_cpus("4096")
    with pytest.raises(UsageError, match="bad CPU list"):
        parse_cpus("3-1")


def test_every_builtin_workload_has_its_locustfile_and_user_class():
    for workload in WORKLOADS.values():
        assert workload.locustfile.is_file(), workload.name
        assert f"class {workload.user}(" in workload.locustfile.read_text(), workload.name


def test_summary_has_the_documented_fields():
    assert set(SUMMARY_FIELDS) <= set(CSV_FIELDS)


def test_repeat_round_trips_through_json_and_refuses_damage():
    from asgi_bench.errors import ResultsError

    repeat = Repeat("uvicorn", "hello", "closed-32u", status="ok", requests=10)
    repeat.capabilities = {"sse": True}
    again = Repeat.from_dict(repeat.to_dict())
    assert again == repeat and again.p50_ms is None
    with pytest.raises(ResultsError, match="unknown fields"):
        Repeat.from_dict({**repeat.to_dict(), "surprise": 1})
    with pytest.raises(ResultsError, match="requests should be int"):
        Repeat.from_dict({**repeat.to_dict(), "requests": "ten"})
    with pytest.raises(ResultsError, match="status"):
        Repeat.from_dict({**repeat.to_dict(), "status": "great"})


def test_the_harness_never_imports_locust():
    # locust monkey-patches its process with gevent: it must only run in its own processes.
    code = (
        "import sys, asgi_bench.cli, asgi_bench.run.runner, asgi_bench.report.page, "
        "asgi_bench.verdict.client, asgi_bench.run.capabilities, asgi_bench.run.state; "
        "print('locust' in sys.modules, 'gevent' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_targets_must_be_on_loopback():
    urls = target_urls(("uvicorn=http://127.0.0.1:8001", "granian=http://localhost:8005"))
    assert urls["uvicorn"] == "http://127.0.0.1:8001"
    assert target_urls(("uvicorn=http://127.0.0.7:8001",))  # all of 127.0.0.0/8
    config = RunConfig(targets=("uvicorn=http://127.0.0.1:8001", "granian=http://localhost:8005"))
    assert [s.name for s in config.load().specs] == ["uvicorn", "granian"]
    with pytest.raises(UsageError, match="not on loopback"):
        target_urls(("uvicorn=http://10.0.0.5:8001",))
    with pytest.raises(UsageError, match="bad --targets entry"):
        target_urls(("uvicorn",))
    with pytest.raises(UsageError, match="names 'uvicorn' twice"):
        target_urls(("uvicorn=http://127.0.0.1:1", "uvicorn=http://127.0.0.1:2"))
    with pytest.raises(UsageError, match="unknown server 'nginx'"):
        target_urls(("nginx=http://127.0.0.1:1",))


def test_pure_middleware_is_refused_with_targets_that_serve_their_own():
    config = RunConfig(targets=("uvicorn=http://127.0.0.1:8001",), pure_middleware=True)
    with pytest.raises(UsageError, match=r"^--pure-middleware .* --targets servers run their own$"):
        config.load()


def test_split_host_keeps_the_mount_prefix():
    from asgi_bench.loadtests import split_host

    assert split_host("https://127.0.0.1:8001/streaming/") == (
        "https",
        "127.0.0.1",
        8001,
        "/streaming",
    )
    assert split_host("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000, "")


def test_healthcheck_sees_only_its_own_listeners():
    import socket

    from asgi_bench.system.healthcheck import listening_here

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert listening_here(port)
    assert not listening_here(port)


def test_a_stop_signal_while_a_child_starts_is_raised_once_it_has_an_owner():
    import os
    import signal
    import time

    import pytest

    from asgi_bench.errors import Interrupted
    from asgi_bench.system.signals import signals_held, stop_signals

    reached = []
    with stop_signals(), pytest.raises(Interrupted), signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler has run by now: held, nothing raised here
        reached.append("after the signal")
    assert reached == ["after the signal"]
