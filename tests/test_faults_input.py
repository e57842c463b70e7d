"""Issue #18: faults from the user's surroundings and input, done for real. A proxy set in
the environment (nothing to 127.0.0.1 may reach it), bad values that were accepted (one line,
exit 2, before any server) and a disk that fills mid-run (exactly one line on stderr)."""

from __future__ import annotations

import errno
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.system.http import get, loopback_no_proxy
from tests.e2e import cli, only_run, rows, short_run

PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy")


class StandInProxy(socketserver.ThreadingTCPServer):
    """A proxy that counts the connections it gets and answers each 502 Bad Gateway."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _BadGateway)
        self.connections = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _BadGateway(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, StandInProxy)
        with server.lock:
            server.connections += 1
        self.request.settimeout(2)
        try:
            self.request.recv(65536)
            self.request.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        except OSError:
            pass


@pytest.fixture
def proxy() -> Iterator[StandInProxy]:
    server = StandInProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


def test_the_readiness_get_ignores_proxies_in_the_environment(proxy, monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        reply = get(f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert (reply.status, reply.body) == (200, b"hello")
    assert proxy.connections == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, "127.0.0.1,localhost,::1,127.0.0.0/8"),
        ({"no_proxy": "corp.example, .internal"}, "corp.example,.internal,127.0.0.1,localhost,"),
        ({"NO_PROXY": "corp.example,localhost"}, "corp.example,localhost,127.0.0.1,::1,"),
        ({"no_proxy": "a", "NO_PROXY": "b,a"}, "a,b,127.0.0.1,"),
        ({"no_proxy": "*"}, "*,127.0.0.1,"),
    ],
)
def test_loopback_is_added_to_no_proxy_keeping_the_users_entries(given, expected):
    added = loopback_no_proxy(given)
    assert added["no_proxy"] == added["NO_PROXY"]
    assert added["no_proxy"].startswith(expected), added
    assert set(added["no_proxy"].split(",")) >= {"127.0.0.1", "localhost", "::1"}
    assert len(added["no_proxy"].split(",")) == len(set(added["no_proxy"].split(",")))


@pytest.mark.integration
def test_nothing_to_loopback_goes_through_a_proxy_from_the_environment(out, proxy):
    env = {**os.environ, **dict.fromkeys(PROXY_VARIABLES, proxy.url)}
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    args = ["--servers", "uvicorn", "--apps", "hello,websocket", "--ready-timeout", "10"]
    proc = short_run(out, *args, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = rows(only_run(out))
    assert [r["status"] for r in found] == ["ok", "ok"], [(r["app"], r["reason"]) for r in found]
    assert proxy.connections == 0, f"{proxy.connections} connections went through the proxy"


BAD_INPUT = [
    (["run", "--slots", "-1"], "--slots must be an integer >= 0 (0: from the rate), got -1"),
    (["run", "--slo", ""], "empty --slo; write conditions like"),
    (["run", "--slo", " "], "empty --slo; write conditions like"),
    (
        ["run", "--master-bind", "no such host!", "--driver-processes", "2"],
        "--master-bind 'no such host!' is not an address of this machine; give localhost, ",
    ),
    (
        ["run", "--master-bind", "198.51.100.77", "--driver-processes", "2"],
        "--master-bind '198.51.100.77' is not an address of this machine",
    ),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT, ids=[repr(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2_before_any_server(argv, message, tmp_path):
    results = tmp_path / "results"
    # Short cells: should a bad value be accepted, the run it starts is over quickly.
    short = ["--duration", "1", "--warmup", "0", "--ready-timeout", "5"]
    argv = [*argv, "--servers", "uvicorn", "--apps", "hello", *short, "--out", str(results)]
    proc = cli(*argv, timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not results.exists() or not any(results.iterdir()), "no run may have started"


@pytest.mark.parametrize("bind", ["127.0.0.1", "localhost", "0.0.0.0", "::", "::1"])
def test_master_bind_takes_this_machines_addresses(bind):
    assert RunConfig(master_bind=bind, driver_processes=2).load().config.master_bind == bind


def fill(disk: Path) -> None:
    """Write ``disk`` full; the file stays, so every later write there fails."""
    with open(disk / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


@pytest.mark.integration
def test_a_disk_that_fills_mid_run_ends_it_with_exactly_one_line(tiny_disk):
    out = tiny_disk / "results"
    argv = ["run", "--servers", "uvicorn", "--apps", "hello", "--repeat", "2", "--out", str(out)]
    short = ["--duration", "3", "--warmup", "1", "--users", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "asgi_bench", *argv, *short],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The disk fills while the first repeat measures: its results cannot be written.
        deadline = time.monotonic() + 120
        while not list(out.glob("*/cells/*/*/r1/window.json")):
            assert proc.poll() is None and time.monotonic() < deadline, "no repeat started"
            time.sleep(0.05)
        fill(tiny_disk)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("asgi-bench: could not write "), lines[0]
    assert lines[0].endswith(": No space left on device"), lines[0]
    run_dir = only_run(out)
    json.loads((run_dir / "run.json").read_text())  # the one written at the start, still valid
    assert not list(run_dir.rglob("*.tmp")), "no half-written file may be left"
