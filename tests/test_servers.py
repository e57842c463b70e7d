"""Real servers on 127.0.0.1: readiness, TLS, clean stops, lifespan, start failures."""

from __future__ import annotations

import json
import socket

import psutil
import pytest

from asgi_bench.config import RunConfig
from asgi_bench.errors import ServerStartError
from asgi_bench.results.layout import read_json
from asgi_bench.run.resources import free_port
from asgi_bench.run.server import start_server
from asgi_bench.servers import ServerSpec, get_server
from asgi_bench.system.http import get
from asgi_bench.system.tls import make_cert
from asgi_bench.workloads import get_workload
from tests.servers import ALL, measure_one, running

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("server", ALL)
def test_serves_hello_and_stops_its_whole_tree(server, tmp_path):
    with running(server, "hello", tmp_path, metrics=False) as proc:
        reply = get(proc.base_url + "/")
        assert (reply.status, reply.body) == (200, b"Hello World")
        tree = proc.process.remember_tree()
    assert all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in tree)


@pytest.mark.parametrize("server", ALL)
def test_tls_with_a_certificate_made_at_run_time(server, tmp_path):
    certs = make_cert(tmp_path / "tls")
    with running(server, "hello", tmp_path, metrics=False, certs=certs) as proc:
        assert proc.base_url.startswith("https://")
        assert get(proc.base_url + "/").body == b"Hello World"


@pytest.mark.parametrize("server", ALL)
def test_lifespan_observed(server, tmp_path):
    with running(server, "lifespan", tmp_path) as proc:
        state = json.loads(get(proc.base_url + "/").body)
    claims = "lifespan" in get_server(server).supports
    assert state["startup_complete"] is claims
    assert proc.shutdown_observed() is claims


def test_port_taken_is_a_clear_start_error(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ServerStartError) as info:
            start_server(
                get_server("uvicorn"), get_workload("hello"), port, tmp_path, ready_timeout=10
            )
    # The reason quotes the log line that explains it, and the log stays on disk.
    assert "exited with code" in str(info.value)
    assert "address already in use" in str(info.value).lower()
    assert "address already in use" in (tmp_path / "server.log").read_text().lower()


def test_a_port_answered_by_someone_else_is_not_ready(tmp_path):
    # Our own uvicorn holds the port; a second server there must not be taken as ready.
    with running("uvicorn", "hello", tmp_path, metrics=False) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(ServerStartError):
            start_server(
                get_server("granian"),
                get_workload("hello"),
                port,
                tmp_path / "second",
                ready_timeout=5,
            )


def test_bad_flag_fails_the_cell_with_log_tail_and_the_run_goes_on(tmp_path):
    good = get_server("uvicorn")
    bad = ServerSpec(
        name="uvicorn-bad",
        module="uvicorn",
        install_hint="",
        bind=good.bind,
        command=(*good.command, "--no-such-flag"),
        tls_bind=good.tls_bind,
        workers=good.workers,
    )
    config = RunConfig(servers=("uvicorn",), apps=("hello",), duration=1, warmup=0, out=tmp_path)
    repeat = measure_one(config, bad, get_workload("hello"))
    assert repeat.status == "failed"
    assert "exited with code" in repeat.reason
    assert "no-such-flag" in repeat.log_tail
    written = tmp_path / "cells" / "uvicorn-bad__hello" / "closed-32u" / "r1" / "repeat.json"
    assert read_json(written, schema=True)["status"] == "failed"


def test_missing_server_is_unsupported_with_install_hint(tmp_path):
    ghost = ServerSpec(
        name="ghost",
        module="no_such_server_module",
        install_hint="pip install ghost",
        command=(),
        bind=(),
        tls_bind=(),
        workers=None,
    )
    repeat = measure_one(RunConfig(out=tmp_path), ghost, get_workload("hello"))
    assert (repeat.status, repeat.reason) == ("unsupported", "not installed: pip install ghost")


def test_free_port_is_on_loopback():
    assert 1024 < free_port() < 65536


def test_a_server_answering_500_to_everything_is_failed_not_fast(tmp_path):
    # granian's default rsgi interface starts an ASGI app fine, then answers 500 to all.
    from dataclasses import replace

    granian = get_server("granian")
    command = list(granian.command)
    del command[command.index("--interface") : command.index("--interface") + 2]
    rsgi = replace(granian, name="granian-rsgi", command=tuple(command))
    config = RunConfig(duration=2, warmup=1, users=4, out=tmp_path, metrics=False, ready_timeout=5)
    # Readiness wants a 200, so the repeat fails before any load, with the reason.
    repeat = measure_one(config, rsgi, get_workload("hello"))
    assert repeat.status == "failed"
    assert "HTTP 500" in repeat.reason


def test_an_internal_error_fails_the_repeat_and_keeps_the_traceback(tmp_path, monkeypatch):
    from asgi_bench.run import resources

    def broken(layout):
        raise ValueError("analysis bug")

    monkeypatch.setattr(resources, "load_client_stats", broken)
    config = RunConfig(duration=1, warmup=0, users=2, out=tmp_path)
    repeat = measure_one(config, get_server("uvicorn"), get_workload("hello"))
    assert (repeat.status, repeat.reason) == ("failed", "internal error: ValueError: analysis bug")
    traceback = tmp_path / "cells" / "uvicorn__hello" / "closed-2u" / "r1" / "traceback.txt"
    assert "analysis bug" in traceback.read_text()


def test_a_failing_write_on_the_way_out_still_stops_server_and_locust(tmp_path, monkeypatch):
    # The sampler raises as it stops (as a full disk would): the server and Locust must still
    # be stopped, and the repeat says what happened. no_orphans checks the processes.
    from asgi_bench.run.samplers import Sampler

    real_stop = Sampler.stop

    def stop_then_fail(self):
        real_stop(self)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Sampler, "stop", stop_then_fail)
    config = RunConfig(duration=1, warmup=0, users=2, out=tmp_path)
    repeat = measure_one(config, get_server("uvicorn"), get_workload("hello"))
    assert repeat.status == "failed"
    assert "No space left on device" in repeat.reason
