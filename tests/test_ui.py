"""``asgi-bench ui``: a server plus the Locust web UI, driven over HTTP like a person would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from asgi_bench.run.resources import free_port
from asgi_bench.system.http import get

pytestmark = pytest.mark.integration


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def total_requests(web: str) -> int:
    stats = json.loads(get(web + "/stats/requests").body)
    return sum(s["num_requests"] for s in stats["stats"] if s["name"] != "Aggregated")


def test_ui_swarm_moves_the_stats_and_stops(tmp_path):
    port, web_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "asgi_bench",
            "ui",
            "uvicorn",
            "hello",
            "--port",
            str(port),
            "--web-port",
            str(web_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    web = f"http://127.0.0.1:{web_port}"
    try:
        wait_for(web + "/")
        form = urllib.parse.urlencode(
            {"user_count": 4, "spawn_rate": 4, "host": f"http://127.0.0.1:{port}"}
        ).encode()
        with urllib.request.urlopen(web + "/swarm", data=form, timeout=10) as reply:
            assert json.loads(reply.read())["success"] is True
        time.sleep(2)
        first = total_requests(web)
        time.sleep(2)
        second = total_requests(web)
        assert 0 < first < second
        with urllib.request.urlopen(
            urllib.request.Request(web + "/stop", method="POST"), timeout=10
        ) as reply:
            assert reply.status == 200
        states = []
        for _ in range(50):
            states.append(json.loads(get(web + "/stats/requests").body)["state"])
            if states[-1] == "stopped":
                break
            time.sleep(0.2)
        assert states[-1] == "stopped", states
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, proc.stdout.read() if proc.stdout else ""
