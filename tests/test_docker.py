"""docker-compose on a real Docker engine: build, `up bench`, results on the host, down.

No container registry is reachable on our machines: the base image is a stand-in built
from Debian's packages (scripts/docker-base). The test starts its own dockerd when none
is running (as root, without a bridge network) and stops it, by pid, afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asgi_bench.servers import SERVERS
from asgi_bench.system.processes import ManagedProcess

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
SOCKET = Path("/var/run/docker.sock")
BASE = "asgi-bench-base:bookworm"
PROJECT = "asgibenchtest"
DB_PORT = 5439  # compose's postgres service, DB_PORT's default
DB_DSN = f"postgresql://bench@127.0.0.1:{DB_PORT}/postgres"


def docker_ok() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture
def docker_engine(tmp_path: Path) -> Iterator[None]:
    if shutil.which("docker") and docker_ok():
        yield
        return
    if not (shutil.which("dockerd") and os.geteuid() == 0):
        if os.environ.get("CI"):
            pytest.fail("CI must install docker.io and run as root")
        pytest.skip("no Docker engine and no way to start one")
    # --bridge=none: no docker0; every service uses the host's loopback.
    dockerd = ManagedProcess(
        ["dockerd", "--bridge=none", "--iptables=false", f"--host=unix://{SOCKET}"],
        tmp_path / "dockerd.log",
    )
    try:
        deadline = time.monotonic() + 60
        while not docker_ok():
            assert dockerd.poll() is None, dockerd.log_tail()
            assert time.monotonic() < deadline, "dockerd did not come up"
            time.sleep(0.5)
        yield
    finally:
        dockerd.stop(grace=20)


def project_copy(destination: Path) -> Path:
    """The repository's files, as a fresh clone has them, in a folder of the test's own."""
    files = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in files.stdout.splitlines():
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def compose(
    project: Path, env: dict[str, str], *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-p", PROJECT, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _health() -> str:
    """Each container of the project: its state and its last health check outputs."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    lines = []
    for cid in ids:
        found = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True)
        for item in json.loads(found.stdout or "[]"):
            state = item["State"]
            health = state.get("Health") or {}
            last = [entry.get("Output", "").strip() for entry in health.get("Log", [])[-2:]]
            lines.append(f"{item['Name']}: {state['Status']} {health.get('Status', '')} {last}")
        logs = subprocess.run(
            ["docker", "logs", "--tail", "5", cid], capture_output=True, text=True
        )
        lines.append("  " + (logs.stdout + logs.stderr).strip().replace("\n", "\n  "))
    return "\n" + "\n".join(lines)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHON_IMAGE": BASE,
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
        "DOCKER_GID": str(SOCKET.stat().st_gid),
    }


def test_compose_up_bench_leaves_results_on_the_host(docker_engine, tmp_path):
    ports = [*range(8001, 8001 + len(SERVERS)), DB_PORT]
    taken = [port for port in ports if _port_taken(port)]
    assert not taken, f"ports {taken} are in use: stop what holds them (another compose run?)"
    subprocess.run([str(REPO / "scripts" / "docker-base"), BASE], check=True, timeout=600)
    project = project_copy(tmp_path / "project")
    results = project / "results"
    results.mkdir(exist_ok=True)
    results.chmod(0o777)  # the bench container runs as an unprivileged user
    env = {
        **_env(),
        # db: every server queries the postgres service's database
        "BENCH_ARGS": "--apps hello,websocket,db --duration 2 --warmup 1 --users 4",
        # The bench drives through a locust-worker container, as when scaled out.
        "DRIVER_WORKERS": "1",
    }
    try:
        built = compose(project, env, "build", timeout=900)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        up = compose(
            project,
            env,
            "up",
            "--scale",
            "locust-worker=1",
            "--exit-code-from",
            "bench",
            "bench",
            "locust-worker",
            timeout=900,
        )
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:] + _health()
    finally:
        down = compose(project, env, "down", "--remove-orphans", "--volumes", timeout=300)
    assert down.returncode == 0, down.stderr
    ps = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ps.stdout.strip() == "", "containers left behind"
    runs = [p for p in results.iterdir() if p.is_dir()]
    assert len(runs) == 1
    run_dir = runs[0]
    assert (run_dir / "report.html").exists() and (run_dir / "charts" / "throughput.png").exists()
    rows = json.loads((run_dir / "summary.json").read_text())["rows"]
    assert sorted((r["server"], r["app"]) for r in rows) == sorted(
        (s, a) for s in SERVERS for a in ("hello", "websocket", "db")
    )
    for row in rows:
        where = f"{row['server']}/{row['app']}: {row['reason']}"
        assert row["status"] == "ok", where
        assert row["count_check"] == "ok", where
        assert row["cpu_us_per_request"] and row["peak_rss_mib"], where  # via the Docker API
        assert row["memory_kind"] == "cgroup", where
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["config"]["targets"] and manifest["config"]["expect_workers"] == 1
    assert manifest["database"] == {"source": "--db-dsn", "dsn": DB_DSN}
    record = next(run_dir.glob("cells/uvicorn__hello/*/r1/recorder.json"))
    roles = sorted(p["role"] for p in json.loads(record.read_text())["processes"])
    assert roles == ["master", "worker"]  # the load came from the worker container


def test_compose_locust_ui_drives_uvicorn_and_shows_the_asgi_bench_tab(docker_engine, tmp_path):
    taken = [port for port in (8001, 8089, 5567, DB_PORT) if _port_taken(port)]
    assert not taken, f"ports {taken} are in use: stop what holds them (another compose run?)"
    subprocess.run([str(REPO / "scripts" / "docker-base"), BASE], check=True, timeout=600)
    project = project_copy(tmp_path / "project")
    env = _env()
    web = "http://127.0.0.1:8089"
    try:
        built = compose(project, env, "build", "postgres", timeout=900)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        up = compose(project, env, "up", "-d", "uvicorn", "locust", timeout=300)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        stats = _swarm_open_model(web, rate=300, seconds=8)
        # Locust's own table: the open model's row only; the worker process sent it.
        rows = [s for s in stats["stats"] if s["name"] != "Aggregated"]
        assert [(s["method"], s["name"]) for s in rows] == [("GET", "/")], stats
        [tab] = [e["data"] for e in stats["extended_stats"] if e["key"] == "asgi-bench"]
        table = {row["figure"]: row["recent"] for row in tab}
        for name in ("client p50 (µs)", "uncorrected p99 (µs)", "in-app p50 (µs)"):
            assert float(table[name].replace(",", "")) > 0, table
        assert 250 <= float(table["requests/s"].replace(",", "")) <= 350, table
    finally:
        down = compose(project, env, "down", "--remove-orphans", "--volumes", timeout=300)
    assert down.returncode == 0, down.stderr


PROFILED = ("uvicorn", "granian")
WITH_PTRACE = ("-f", "docker-compose.yml", "-f", "docker-compose.profile.yml")


def test_compose_profile_samples_each_server_in_its_own_container(docker_engine, tmp_path):
    """--profile under compose: refused while the servers lack SYS_PTRACE, then, with
    docker-compose.profile.yml, py-spy in each server's container, native frames included."""
    ports = [8001 + list(SERVERS).index(name) for name in PROFILED]
    taken = [port for port in (*ports, DB_PORT) if _port_taken(port)]
    assert not taken, f"ports {taken} are in use: stop what holds them (another compose run?)"
    subprocess.run([str(REPO / "scripts" / "docker-base"), BASE], check=True, timeout=600)
    project = project_copy(tmp_path / "project")
    results = project / "results"
    results.mkdir(exist_ok=True)
    results.chmod(0o777)
    env = _env()
    targets = ",".join(
        f"{name}=http://127.0.0.1:{port}" for name, port in zip(PROFILED, ports, strict=True)
    )
    bench = ("run", "--rm", "-T", "--no-deps", "bench", "asgi-bench", "run", "--out")
    args = ["/app/results", "--targets", targets, "--apps", "hello", "--profile"]
    args += ["--duration", "2", "--warmup", "1", "--users", "4"]
    try:
        built = compose(project, env, "build", "postgres", timeout=900)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        up = compose(project, env, "up", "-d", *PROFILED, timeout=300)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        refused = compose(project, env, *bench, *args, timeout=300)
        assert refused.returncode == 2, refused.stdout[-3000:] + refused.stderr[-3000:]
        assert "lacks SYS_PTRACE" in refused.stderr + refused.stdout
        assert "docker-compose.profile.yml" in refused.stderr + refused.stdout
        up = compose(project, env, *WITH_PTRACE, "up", "-d", *PROFILED, timeout=300)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        ran = compose(project, env, *WITH_PTRACE, *bench, *args, timeout=600)
        assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:] + _health()
    finally:
        down = compose(project, env, "down", "--remove-orphans", "--volumes", timeout=300)
    assert down.returncode == 0, down.stderr
    [run_dir] = [p for p in results.iterdir() if p.is_dir()]
    rows = json.loads((run_dir / "summary.json").read_text())["rows"]
    assert {row["server"] for row in rows} == set(PROFILED)
    for row in rows:
        where = f"{row['server']}/{row['step']}: {row['reason']} {row['notes']}"
        assert row["status"] == "ok", where
        components = (row["profile"] or {}).get("components", {})
        assert components and components["unattributed"]["share"] < 0.1, where
        # native frames, which py-spy could not read from another container: the kernel's
        assert components.get("kernel", {}).get("share", 0) > 0, where
    for name in PROFILED:
        assert next(run_dir.glob(f"cells/{name}__hello/*/r1/flame.svg")).stat().st_size > 0


def test_the_profile_override_gives_every_server_service_ptrace():
    """docker-compose.profile.yml names every server service of docker-compose.yml: a new
    server in one and not the other could not be profiled under compose."""
    import yaml

    base = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    override = yaml.safe_load((REPO / "docker-compose.profile.yml").read_text())["services"]
    assert set(override) == set(SERVERS) <= set(base)
    assert all(service["cap_add"] == ["SYS_PTRACE"] for service in override.values())


def _swarm_open_model(web: str, rate: int, seconds: float) -> dict[str, Any]:
    """Start the open model at ``rate`` from the UI's form, as a person would; its stats
    after ``seconds``."""
    deadline = time.monotonic() + 120
    while True:  # the web UI is up, and its worker process has joined
        try:
            with urllib.request.urlopen(web + "/stats/requests", timeout=5) as reply:
                if json.loads(reply.read()).get("workers"):
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, (
            "the Locust web UI or its worker never came up" + _health()
        )
        time.sleep(1)
    form = {
        "user_count": 1,
        "spawn_rate": 1,
        "host": "http://127.0.0.1:8001/hello",
        "user_classes": "HelloOpen",
        "asgi_bench_rate": rate,
    }
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(web + "/swarm", data=data, timeout=10) as reply:
        assert json.loads(reply.read())["success"] is True
    time.sleep(seconds)
    with urllib.request.urlopen(web + "/stats/requests", timeout=5) as reply:
        stats: dict[str, Any] = json.loads(reply.read())
    return stats
