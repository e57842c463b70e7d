"""HTTP/2's native peak with a real h2load: the headers it sends beside ours, its CPU time
read from the kernel as it is reaped, and runs where h2load follows Locust's HTTP/2 closed
loop over h2c and over TLS. (The parts that need no process: test_native_h2_units.py.)"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable

import h2.config
import h2.connection
import h2.events
import pytest

from asgi_bench.load.native import Invocation
from asgi_bench.load.native.h2load import H2load
from asgi_bench.system.processes import ManagedProcess
from tests.e2e import only_run, repeat_dir, rows, short_run

H2LOAD = shutil.which("h2load")
needs_h2load = pytest.mark.skipif(
    H2LOAD is None, reason="h2load is not installed (Debian's nghttp2-client)"
)


def capture_headers(send: Callable[[int], None]) -> list[tuple[str, str]]:
    """The headers of the first request an HTTP/2 client sends (h2c, prior knowledge) to a
    listener on loopback that answers every request 200 ``ok``; its port written ``PORT``."""
    got: list[list[tuple[str, str]]] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
            machine = h2.connection.H2Connection(config)
            machine.initiate_connection()
            with conn:
                try:
                    conn.sendall(machine.data_to_send())
                    while data := conn.recv(65536):
                        for event in machine.receive_data(data):
                            if isinstance(event, h2.events.RequestReceived):
                                if not got:
                                    got.append([(str(k), str(v)) for k, v in event.headers])
                                stream = event.stream_id
                                reply = [(":status", "200"), ("content-length", "2")]
                                machine.send_headers(stream, reply)
                                machine.send_data(stream, b"ok", end_stream=True)
                        conn.sendall(machine.data_to_send())
                except OSError:
                    pass  # the client went away: what it sent is in ``got``

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        send(port)
        thread.join(10)
    return [(k, v.replace(f":{port}", ":PORT")) for k, v in got[0]]


@needs_h2load
def test_h2load_sends_our_headers_and_its_user_agent():
    def by_h2load(port: int) -> None:
        argv = H2load().argv(Invocation(f"http://127.0.0.1:{port}/", 1, 1, 0.5))
        subprocess.run(argv, capture_output=True, timeout=30, check=False)

    def by_locust(port: int) -> None:
        code = (
            "from gevent import monkey; monkey.patch_all();"
            "from asgi_bench.loadtests.rawh2 import H2Connection;"
            f"print(H2Connection('127.0.0.1', {port}).request(b'GET', b'/'))"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)

    theirs, ours = capture_headers(by_h2load), capture_headers(by_locust)
    assert ours == [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "127.0.0.1:PORT"),
        (":path", "/"),
    ]
    # The same headers in another order, and one more: h2load's user-agent.
    extra = [(k, v) for k, v in theirs if (k, v) not in ours]
    assert sorted(set(theirs) - set(extra)) == sorted(ours)
    assert len(extra) == 1 and extra[0][0] == "user-agent", theirs
    assert extra[0][1].startswith("h2load nghttp2/")


@pytest.mark.parametrize("cpus", [None, [0]], ids=["as-is", "pinned"])
def test_a_reaped_process_says_its_cpu_time(tmp_path, cpus):
    # Pinned, the process first runs the pinning trampoline, which then execs the program
    # (NativeRun's way): the same pid, reaped once, its CPU the trampoline's and the spin's.
    spin = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    process = ManagedProcess([sys.executable, "-c", spin], tmp_path / "spin.log", cpus=cpus)
    try:
        code, cpu_s = process.wait_accounted(30)
    finally:
        process.stop(grace=1)
    assert code == 0 and cpu_s is not None and 0.3 <= cpu_s < 5
    assert process.poll() == 0  # Popen was told: it has no child left to wait for


@needs_h2load
@pytest.mark.integration
@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2"])
def test_an_http2_closed_loop_is_followed_by_h2load_with_its_connections_and_streams(out, tls):
    args = ["--servers", "hypercorn", "--apps", "hello", "--http", "2", "--streams", "4"]
    args += ["--driver-processes", "1"]  # all 8 users in one process, whatever the machine
    proc = short_run(out, *args, *(["--tls"] if tls else []), users=8, native=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    found = {r["load"]: r for r in rows(run_dir)}
    locust, native = found["closed"], found["native"]
    # 8 users at 4 streams: 2 connections, 4 streams each, 8 requests in flight.
    assert native["step"] == "native-h2load-2c-h2" and native["users"] == 8
    assert (native["http"], native["streams"]) == ("2", 4)
    assert native["status"] == "ok", native["reason"]
    assert native["tool"].startswith("h2load nghttp2/") and native["rps"] > 0
    assert native["p50_ms"] is not None and native["p99_ms"] >= native["p50_ms"]
    # The server saw every request as HTTP/2 (else the row fails), and counted what h2load
    # did over both its runs, give or take the streams in flight at each stop.
    assert native["count_check"] == "ok", native["count_detail"]
    assert native["slo_pass"] is None and locust["slo_pass"] is not None
    assert native["driver_busy"] is not None and native["cpu_us_per_request"] > 0
    folder = repeat_dir(run_dir, "hypercorn", "hello", native["step"])
    record = json.loads((folder / "native.json").read_text())
    assert record["measured"]["histogram"] and record["in_flight"] == 8
    assert not (folder / "native-requests.tsv").exists()  # read, then removed
    assert ("--npn-list=h2" in record["argv"]) is tls
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["settings"]["native_peak"].startswith("native peak: h2load nghttp2/")
    page = (run_dir / "report.html").read_text()
    assert "native req/s" in page and native["tool"] in page
