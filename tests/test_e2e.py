"""The whole harness through its CLI: real servers, real Locust, real files."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import textwrap
import time

import matplotlib.image
import pytest

from asgi_bench.collectors import compiled
from asgi_bench.report.charts import CHARTS, OPT_IN
from asgi_bench.servers import SERVERS
from tests.browser import render
from tests.e2e import cli, only_run, repeat_dir, rows, short_run
from tests.servers import running

pytestmark = pytest.mark.integration


def test_tiny_matrix_every_config(out):
    proc = short_run(out, "--apps", "hello,sse", users=8)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    for name in ("run.json", "summary.json", "summary.csv", "report.html"):
        assert (run_dir / name).stat().st_size > 0, name
    # Every chart with something to show for a closed-loop run (the rate charts need --rates;
    # the opt-in ones, their flag).
    for chart in set(CHARTS) - set(OPT_IN) - {"latency_vs_rate", "cost_vs_rate"}:
        assert (run_dir / "charts" / f"{chart}.png").exists(), chart
        assert (run_dir / "charts" / f"{chart}.svg").exists(), chart
    found = rows(run_dir)
    assert [(r["server"], r["app"]) for r in found] == [
        (s, a) for s in SERVERS for a in ("hello", "sse")
    ]
    for row in found:
        where = f"{row['server']}/{row['app']}: {row['reason']}"
        assert row["status"] == "ok", where
        assert row["requests"] > 0 and row["rps"] > 0, where
        assert row["errors"] == 0, where
        # What the driver completed is what the app served, over the run and the window.
        assert row["count_check"] == "ok", (where, row["count_detail"])
        assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"], where
        assert row["cpu_us_per_request"] > 0 and row["peak_rss_mib"] > 0, where
        assert row["bound"] in ("server", "driver", "neither"), where
        folder = repeat_dir(run_dir, row["server"], row["app"], row["step"])
        for raw in (
            "repeat.json",
            "recorder.json",
            "window.json",
            "locust.json",
            "server.log",
            "client.json",
            "server-samples.jsonl",
            "server-state.jsonl",
        ):
            assert (folder / raw).exists(), (where, raw)
    with (run_dir / "summary.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(found)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["schema"] == 1 and manifest["harness"]["git"]["sha"]
    assert manifest["host"]["cpu_count"] and manifest["plan"]["seed"] is not None
    assert manifest["servers"]["granian"]["version"] and manifest["packages"]["locust"]
    assert manifest["cpu_split"]["server"] and not manifest["interrupted"]
    # Every server imported the middleware the run built (mypyc, where a compiler is).
    build = "python" if compiled.problem() else "mypyc"
    assert manifest["middleware"] == {"build": build, "reason": compiled.problem()}
    for row in found:
        folder = repeat_dir(run_dir, row["server"], row["app"], row["step"])
        assert json.loads((folder / "repeat.json").read_text())["middleware"] == build, row
    page = (run_dir / "report.html").read_text()
    assert "<div class='chart'><svg" in page and "Capabilities observed" in page
    # In a real browser: the page loads from disk and every chart is drawn in it.
    dom = render(run_dir / "report.html", screenshot=run_dir / "report.png")
    charts = len(list((run_dir / "charts").glob("*.svg")))
    assert dom.count('<div class="chart"><svg') == charts
    shot = matplotlib.image.imread(run_dir / "report.png")
    assert shot.shape[0] > 1000 and shot.std() > 0.05  # not a blank page
    # report re-renders from the raw cell folders
    (run_dir / "report.html").unlink()
    assert cli("report", str(run_dir)).returncode == 0
    assert (run_dir / "report.html").exists()


def test_ctrl_c_leaves_a_valid_partial_result(out):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "asgi_bench",
            "run",
            "--servers",
            "uvicorn,granian",
            "--apps",
            "hello",
            "--duration",
            "30",
            "--warmup",
            "1",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if list(out.glob("*/cells/*/*/r1/window.json")):  # the first load has started
                break
            time.sleep(0.2)
        time.sleep(3)  # well inside the load
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr[-2000:]
    run_dir = only_run(out)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["interrupted"] is True and manifest["finished_at"]
    found = rows(run_dir)
    assert found and found[0]["reason"] == "interrupted (SIGINT)"
    assert manifest["interrupted_by"] == "SIGINT"
    assert (run_dir / "report.html").exists()


def test_known_latency_is_measured_accurately(out):
    proc = short_run(out, "--servers", "uvicorn", "--apps", "sleep", seconds=3)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = rows(only_run(out))
    # The app sleeps 20 ms. Inside the app the middleware must see 20 ms and a little more
    # (its fine histogram, not a 15-25 ms Prometheus bucket): a loop on a shared core wakes
    # late (20.58 ms seen in CI while the other core was busy), so p50 within 10% and p90
    # under 23.5 ms, where a 15-25 ms bucket's interpolation would put it at 24.
    assert 20.0 <= row["app_p50_ms"] < 22.0, row
    assert 20.0 <= row["app_p90_ms"] < 23.5, row
    # The client sees the same delay plus the server and the network: more, but not much
    # (1.6 ms more seen in CI on a busy machine).
    assert row["app_p50_ms"] < row["p50_ms"] < row["app_p50_ms"] + 5.0, row


def test_two_driver_processes_and_the_users_own_app(out, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "myapp.py").write_text(
        textwrap.dedent("""
        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"mine"})
    """)
    )
    proc = short_run(
        out,
        *("--servers", "uvicorn", "--app", "myapp:app", "--driver-processes", "2"),
        "--pure-middleware",
        cwd=project,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = rows(only_run(out))
    folder = repeat_dir(only_run(out), "uvicorn", "myapp", row["step"])
    assert json.loads((folder / "repeat.json").read_text())["middleware"] == "python"
    assert (row["app"], row["status"]) == ("myapp", "ok"), row["reason"]
    assert row["count_check"] == "ok" and row["requests"] > 0
    record = json.loads(
        (repeat_dir(only_run(out), "uvicorn", "myapp", row["step"]) / "recorder.json").read_text()
    )
    # The master and two workers, whose data came over Locust's own messaging.
    assert sorted(p["role"] for p in record["processes"]) == ["master", "worker", "worker"]
    assert not record["missing_workers"]


def test_a_folder_with_its_own_apps_package_runs_the_harness_apps(out, tmp_path):
    # A user's project often has an apps/ package of its own, with its own hello.py: the
    # harness must run its own hello app, and run.json must name the harness's sha, not the
    # sha of the repository the user stands in.
    project = tmp_path / "project"
    (project / "apps").mkdir(parents=True)
    (project / "apps" / "__init__.py").write_text("")
    (project / "apps" / "hello.py").write_text("raise ImportError('the user app, not ours')\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(project),
            "-c",
            "user.email=u@x",
            "-c",
            "user.name=u",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "user",
        ],
        check=True,
    )
    user_sha = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    proc = short_run(out, "--servers", "uvicorn", "--apps", "hello", cwd=project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    (row,) = rows(run_dir)
    assert row["status"] == "ok", row["reason"]
    manifest = json.loads((run_dir / "run.json").read_text())
    harness_sha = manifest["harness"]["git"]["sha"]
    assert harness_sha and harness_sha != user_sha
    assert manifest["harness"]["version"] and manifest["user"]["cwd"] == str(project)


def test_targets_mode_drives_servers_it_did_not_start(out, tmp_path):
    # What docker-compose's bench does, without Docker: the servers serve every app under
    # its prefix and the harness only attaches to them.
    with (
        running("uvicorn", "all", tmp_path) as uvicorn,
        running("granian", "all", tmp_path) as granian,
    ):
        proc = short_run(
            out,
            "--targets",
            f"uvicorn={uvicorn.base_url},granian={granian.base_url}",
            "--apps",
            "hello,websocket",
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert uvicorn.process.poll() is None  # left running: not the harness's to stop
    found = rows(only_run(out))
    assert [(r["server"], r["app"]) for r in found] == [
        ("uvicorn", "hello"),
        ("uvicorn", "websocket"),
        ("granian", "hello"),
        ("granian", "websocket"),
    ]
    for row in found:
        assert row["status"] == "ok", row["reason"]
        assert row["count_check"] == "ok", row
        assert any("no Docker API" in n or "no container" in n for n in row["notes"]), row


def test_tls_run_through_locust(out):
    proc = short_run(
        out, "--servers", "uvicorn,granian", "--apps", "hello,streaming,websocket", "--tls"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for row in rows(only_run(out)):
        where = f"{row['server']}/{row['app']}: {row['reason']}"
        assert row["status"] == "ok" and row["tls"] is True, where
        assert row["errors"] == 0 and row["count_check"] == "ok", where
        # Observed, not assumed: a handshake was seen, with its version.
        assert row["capabilities"]["tls"] is True, where
        assert row["capability_details"]["tls"].startswith("TLSv1"), where
    assert not list(out.rglob("*.pem")), "the throwaway certificate must not be kept"


def test_driver_processes_auto_gives_each_driver_cpu_a_pinned_process(out, tmp_path):
    # Targets mode: the server runs outside this run's CPU split, so both CPUs can drive.
    # auto (the default) starts one Locust process per driver CPU, each pinned to its own.
    with running("uvicorn", "all", tmp_path) as uvicorn:
        proc = short_run(
            out, "--targets", f"uvicorn={uvicorn.base_url}", "--apps", "hello",
            "--driver-cpus", "0,1", "--rates", "400",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = " ".join(proc.stdout.split())
    assert "2 Locust process(es) (auto: one per driver CPU)" in said, said
    run_dir = only_run(out)
    settings = json.loads((run_dir / "run.json").read_text())["settings"]
    assert (settings["driver_processes"], settings["driver_processes_from"]) == (2, "auto")
    (row,) = rows(run_dir)
    assert row["status"] == "ok", row["reason"]
    record = json.loads(next(run_dir.glob("cells/*/*/r1/recorder.json")).read_text())
    senders = [p for p in record["processes"] if p["role"] == "worker"]
    assert sorted(tuple(p["cpus"]) for p in senders) == [(0,), (1,)], record["processes"]
