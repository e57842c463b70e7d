"""HTTP/2 on real servers: the lean client multiplexes streams and refuses HTTP/1.1 answers;
a run at --http 1.1,2 measures the servers that speak it, over h2c and over TLS (ALPN), with
counts that reconcile, and records the others as unsupported with what was seen."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from asgi_bench.run.capabilities import NO_ALPN
from asgi_bench.servers import get_server
from tests.e2e import only_run, rows, short_run
from tests.servers import installed, running

pytestmark = pytest.mark.integration

# Eight greenlets on connections shared 4 to 1, 50 requests each, in a Locust-like process.
CLIENT = """
from gevent import monkey; monkey.patch_all()
import json, sys, gevent
from asgi_bench.loadtests.rawh2 import SharedH2
pool = SharedH2("127.0.0.1", int(sys.argv[1]), sys.argv[2] == "tls", streams=4)
seen, errors = [], []
def user():
    connection = pool.take()
    for _ in range(50):
        try:
            seen.append(connection.request(b"GET", b"/"))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    connection.close()
gevent.joinall([gevent.spawn(user) for _ in range(8)])
print(json.dumps({"ok": sum(s == (200, b"Hello World") for s in seen),
                  "errors": sorted(set(errors)), "connections": len(pool.connections)}))
"""


def _client(port: int, tls: bool) -> dict[str, Any]:
    argv = [sys.executable, "-c", CLIENT, str(port), "tls" if tls else "plain"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.parametrize("server", installed(["hypercorn", "granian", "gunicorn"]))
def test_the_client_multiplexes_four_users_on_each_h2c_connection(server, tmp_path):
    # gunicorn's h2c is opt-in, and "both" keeps the HTTP/1.1 readiness GET answered.
    with running(server, "hello", tmp_path, http="2") as proc:
        answer = _client(proc.port, tls=False)
    assert answer == {"ok": 400, "errors": [], "connections": 2}


def test_the_client_refuses_a_server_that_answers_http_1(tmp_path):
    with running("uvicorn", "hello", tmp_path) as proc:
        answer = _client(proc.port, tls=False)
    assert answer["ok"] == 0
    # Each connection's first answer is HTTP/1.1's; a request sent after uvicorn closed
    # the connection may fail on the write instead. None is taken for HTTP/2.
    errors = answer["errors"]
    assert "NotHttp2: the server answered HTTP/1: HTTP/1.1 400 Bad Request" in errors, errors
    assert all(
        e.startswith(("NotHttp2", "BrokenPipeError", "ConnectionResetError")) for e in errors
    )


def _by_step(run_dir):
    return {(r["server"], r["step"]): r for r in rows(run_dir)}


def test_a_run_at_both_versions_measures_h2c_and_says_who_cannot(out):
    proc = short_run(
        out, "--servers", "hypercorn,uvicorn", "--apps", "hello", "--rates", "300",
        "--http", "1.1,2", "--streams", "4", seconds=2,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    found = _by_step(run_dir)
    assert set(found) == {
        (s, step) for s in ("hypercorn", "uvicorn") for step in ("open-300rps", "open-300rps-h2")
    }
    h2 = found["hypercorn", "open-300rps-h2"]
    assert h2["status"] == "ok", h2["reason"]
    assert (h2["http"], h2["streams"]) == ("2", 4)
    # What the driver completed is what the middleware counted, streams multiplexed or not.
    assert h2["count_check"] == "ok", h2["count_detail"]
    assert h2["requests"] > 0 and h2["errors"] == 0
    assert h2["capabilities"] == {"h2c": True, "verified": True, "conforms": True}
    no = found["uvicorn", "open-300rps-h2"]
    assert no["status"] == "unsupported" and no["requests"] is None
    assert no["reason"] == (
        "uvicorn does not speak h2c: the server answered HTTP/1: HTTP/1.1 400 Bad Request"
    )
    assert found["uvicorn", "open-300rps"]["status"] == "ok"
    page = (run_dir / "report.html").read_text()
    assert "HTTP/1.1 and HTTP/2</h2>" in page and "hello over HTTP/2" in page
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["settings"]["http"]["versions"] == ["1.1", "2"]


def test_over_tls_h2_is_negotiated_by_alpn_and_streams_time_their_frames(out):
    # 50 req/s: daphne's HTTP/2 (Twisted, pure Python) saturates on streaming at 200 here.
    servers = [s for s in ("daphne", "gunicorn", "uvicorn") if get_server(s).available]
    proc = short_run(
        out, "--servers", ",".join(servers), "--apps", "hello,streaming", "--rates", "50",
        "--http", "2", "--tls", seconds=2,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = {(r["server"], r["app"]): r for r in rows(only_run(out))}
    assert {r["step"] for r in found.values()} == {"open-50rps-h2"}
    for (server, app), row in found.items():
        where = f"{server}/{app}: {row['reason']}"
        if server == "uvicorn":  # no h2, and no ALPN at all
            assert row["status"] == "unsupported", where
            assert row["reason"] == f"uvicorn does not speak h2: {NO_ALPN}", where
            continue
        assert row["status"] == "ok", where
        assert row["count_check"] == "ok", (where, row["count_detail"])
        assert row["capabilities"]["tls"] and row["capabilities"]["h2"], where
        assert row["capability_details"]["h2"].startswith("ALPN h2: HTTP/2 "), where
        if app == "streaming":  # headers and first chunk timed from the frames
            assert 0 < row["ttfb_p50_ms"] <= row["first_p50_ms"] <= row["p50_ms"], where
