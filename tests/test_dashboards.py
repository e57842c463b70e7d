"""Every Grafana panel's PromQL returns data from a real Prometheus scraping real servers.

Prometheus (Debian's package) runs on 127.0.0.1 and scrapes a real server (every app
mounted, wrapped in the middleware) and a real Locust master with the exporter plugin,
under a short load of hello, upload and WebSocket traffic.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.parse
from pathlib import Path

import pytest

from asgi_bench.run.resources import free_port
from asgi_bench.system.http import get
from asgi_bench.system.processes import ManagedProcess
from asgi_bench.workloads import LOADTESTS_DIR
from tests.servers import running

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "dashboards" / "grafana" / "dashboards" / "asgi-bench.json"
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None and "CI" not in os.environ,
    reason="Debian's prometheus is not installed (CI installs it)",
)

LOCUSTFILE = textwrap.dedent("""
    import os
    from locust import FastHttpUser, constant, task
    from asgi_bench.loadtests.ws_echo import WebSocketUser

    BASE = os.environ["TARGET"]

    class Hello(FastHttpUser):
        host = BASE + "/hello"
        wait_time = constant(0.01)

        @task(5)
        def hello(self):
            self.client.get("/")

        @task
        def upload(self):
            self.client.request("POST", BASE + "/streaming/upload", data=b"x" * 1000)

    class Echo(WebSocketUser):
        host = BASE + "/websocket"
        wait_time = constant(0.01)
""")


def panel_queries() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(p["title"], t["expr"]) for p in panels for t in p["targets"]]


def concrete(expr: str) -> str:
    """Grafana's variables as Grafana would fill them with "All" and a 1 s scrape."""
    return expr.replace("$server", ".*").replace("$__rate_interval", "10s")


def test_every_panel_has_a_query():
    titles = {title for title, _ in panel_queries()}
    assert len(titles) >= 9
    assert any("Client" in t and "server" in t for t in titles)


def test_promtool_accepts_the_compose_config():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (CI installs Debian's prometheus)")
    out = subprocess.run(
        [promtool, "check", "config", str(REPO / "dashboards" / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@needs_prometheus
def test_every_panel_query_returns_data(tmp_path):
    prom_port, web_port = free_port(), free_port()
    with running("uvicorn", "all", tmp_path) as server:
        host_port = server.base_url.removeprefix("http://")
        config = tmp_path / "prometheus.yml"
        config.write_text(
            textwrap.dedent(f"""
            global: {{scrape_interval: 1s, evaluation_interval: 1s}}
            scrape_configs:
              - job_name: asgi-servers
                static_configs: [{{targets: ["{host_port}"]}}]
              - job_name: locust
                static_configs: [{{targets: ["127.0.0.1:{web_port}"]}}]
        """)
        )
        locustfile = tmp_path / "dashboard_load.py"
        locustfile.write_text(LOCUSTFILE)
        prometheus = ManagedProcess(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            tmp_path / "prometheus.log",
        )
        locust = ManagedProcess(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                f"{LOADTESTS_DIR / 'prometheus_exporter.py'},{locustfile}",
                "--autostart",
                "--users",
                "4",
                "--spawn-rate",
                "4",
                "--run-time",
                "60s",
                "--web-host",
                "127.0.0.1",
                "--web-port",
                str(web_port),
            ],
            tmp_path / "locust.log",
            env={**os.environ, "TARGET": server.base_url, "PYTHONPATH": str(REPO)},
        )
        try:
            # Until every panel has data, or a deadline that a slow machine still meets:
            # a few scrapes must land in every rate() window first.
            deadline = time.monotonic() + 120
            while True:
                time.sleep(3)
                empty = []
                for title, expr in panel_queries():
                    url = f"http://127.0.0.1:{prom_port}/api/v1/query?query=" + (
                        urllib.parse.quote(concrete(expr))
                    )
                    reply = json.loads(get(url, timeout=10).body)
                    assert reply["status"] == "success", (title, expr, reply)
                    if not reply["data"]["result"]:
                        empty.append(f"{title}: {expr}")
                if not empty or time.monotonic() > deadline:
                    break
            assert not empty, "panels that would show nothing:\n" + "\n".join(empty)
        finally:
            locust.stop()
            prometheus.stop()
