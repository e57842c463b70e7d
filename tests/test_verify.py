"""The verify step: what differs is said, a broken app gets no load, and every built-in
workload passes under a real server."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.expect import NOT_FOUND, Expect
from asgi_bench.results.layout import RunLayout
from asgi_bench.run.verify import Answer, checks, differences, verify
from asgi_bench.servers import get_server
from asgi_bench.system.postgres import server_binaries
from asgi_bench.workloads import WORKLOADS, get_workload
from tests.servers import installed, measure_one, running

HELLO = Expect("/", "text/html", b"Hello World")
RIGHT = Answer(200, {b"content-type": b"text/html", b"content-length": b"11"}, b"Hello World")


def test_an_answer_as_expected_has_no_differences():
    assert differences(HELLO, RIGHT) == []


def test_each_difference_is_said_with_what_was_expected():
    wrong = Answer(
        500,
        {b"content-type": b"text/plain", b"transfer-encoding": b"chunked"},
        b"Hello",
        after=3,
    )
    assert differences(HELLO, wrong) == [
        "GET /: status 500, expected 200, content-type 'text/plain', expected text/html, "
        "framing chunked, expected length, 3 bytes after the end its framing declared, "
        "body 5 bytes b'Hello', expected 11 bytes b'Hello World'"
    ]
    headed = replace(HELLO, answer_headers=((b"etag", b"x"),))
    assert differences(headed, RIGHT) == ["GET /: header etag: None, expected b'x'"]
    broken = Answer(problem="RemoteProtocolError: peer closed connection")
    assert differences(HELLO, broken) == ["GET /: RemoteProtocolError: peer closed connection"]


def test_every_built_in_workload_checks_its_requests_then_head_and_an_unknown_path():
    required, conformance = checks(get_workload("hello"))
    assert [e.describe() for e in required] == ["GET /"]
    assert [e.describe() for e in conformance] == ["HEAD /", NOT_FOUND.describe()]
    assert all(w.verify for w in WORKLOADS.values())
    required, conformance = checks(get_workload("upload"))  # a POST is not asked as HEAD
    assert [e.describe() for e in required] == ["POST /upload"]
    assert [e.describe() for e in conformance] == [NOT_FOUND.describe()]


@pytest.mark.parametrize("server", installed(["uvicorn", "granian", "hypercorn", "daphne"]))
def test_every_built_in_workload_passes_under_a_real_server(server, tmp_path):
    spec = get_server(server)
    for workload in WORKLOADS.values():
        if workload.needs - spec.supports:
            continue
        if workload.database:
            continue  # test_db.py, with its PostgreSQL
        with running(server, workload.name, tmp_path) as proc:
            verified, conforms = verify(workload, proc.base_url)
        assert verified.ok, (workload.name, verified.detail)
        # daphne sends a streamed body after its HEAD answer (the bytes of every chunk but
        # the first): noted, and measured, as its load sends no HEAD.
        if server == "daphne" and workload.name in ("streaming", "sse"):
            assert not conforms.ok and "bytes after the end" in conforms.detail, conforms
        else:
            assert conforms.ok, (workload.name, conforms.detail)


@pytest.mark.parametrize(
    ("app", "said"),
    [
        (
            "long_length",
            "GET /: RemoteProtocolError: peer closed connection without sending complete "
            "message body (received 11 bytes, expected 12)",
        ),
        (
            "no_body",
            "GET /: RemoteProtocolError: peer closed connection without sending complete "
            "message body (received 0 bytes, expected 11)",
        ),
    ],
)
def test_a_broken_app_fails_verification_with_what_differed_and_gets_no_load(app, said, tmp_path):
    broken = replace(get_workload("hello"), app=f"tests.broken_apps:{app}")
    config = RunConfig(servers=("uvicorn",), apps=("hello",), duration=1, warmup=0, out=tmp_path)
    repeat = measure_one(config, get_server("uvicorn"), broken)
    assert repeat.status == "failed"
    assert repeat.reason.startswith(f"verification failed: {said}"), repeat.reason
    assert repeat.capabilities["verified"] is False
    layout = RunLayout(tmp_path).repeat("uvicorn", "hello", repeat.step, 1)
    assert not layout.recorder_json.exists() and not layout.locust_log.exists()  # no load


def test_a_server_wrong_only_where_the_load_never_asks_is_measured_with_a_note(tmp_path):
    everywhere = replace(get_workload("hello"), app="tests.broken_apps:everywhere")
    config = RunConfig(servers=("uvicorn",), apps=("hello",), duration=1, warmup=0, out=tmp_path)
    repeat = measure_one(config, get_server("uvicorn"), everywhere)
    assert repeat.status == "ok", repeat.reason
    assert repeat.capabilities["verified"] and not repeat.capabilities["conforms"]
    said = f"HTTP conformance: {NOT_FOUND.describe()}: status 200, expected 404"
    assert any(note.startswith(said) for note in repeat.notes), repeat.notes


def test_the_verify_command_prints_a_matrix_and_refuses_an_unknown_server(tmp_path):
    argv = [sys.executable, "-m", "asgi_bench", "verify", "--servers", "uvicorn,granian"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    cells = 2 * len(WORKLOADS)
    no_db = 0 if server_binaries() else 2  # db: unsupported without PostgreSQL, saying so
    assert last == (
        f"verify: {cells} cells, {cells - no_db} passed, 0 not conforming, 0 failed, "
        f"{no_db} unsupported"
    ), done.stdout[-3000:]
    bad = subprocess.run(
        [*argv[:4], "--servers", "nope"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "unknown server 'nope'" in bad.stderr, bad.stderr


@pytest.mark.parametrize("server", installed(["daphne"]))
def test_a_server_without_lifespan_is_unsupported_for_lifespan_not_failed(server, tmp_path):
    # The lifespan app answers its state either way; whether startup ran is the probe's.
    config = RunConfig(apps=("lifespan",), duration=1, warmup=0, out=tmp_path)
    repeat = measure_one(config, get_server(server), get_workload("lifespan"))
    assert repeat.status == "unsupported", repeat.reason
    assert repeat.reason.startswith("daphne does not support lifespan"), repeat.reason
    assert repeat.capabilities["verified"], repeat.capability_details
