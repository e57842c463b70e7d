"""Faults of processes and signals, with real ones: a server that hangs mid-window, a signal
while the report is written, a harness killed by SIGKILL, an app that fails some requests."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from xml.etree import ElementTree

import psutil
import pytest

from asgi_bench import exitcodes
from tests.e2e import only_run, rows, short_run
from tests.test_faults import child_named, harness, load_started, wait_for

pytestmark = pytest.mark.integration


def window_start(out) -> float:
    (path,) = out.glob("*/cells/*/*/r1/window.json")
    return float(json.loads(path.read_text())["window"][0])


def test_a_server_that_hangs_mid_window_fails_the_row(out):
    # SIGSTOP 0.7 s into a 4 s window: the server answers nothing for the rest of it. The
    # requests that finished before are not the row's figures.
    args = ["run", "--servers", "uvicorn", "--apps", "hello", "--out", str(out)]
    with harness(*args, "--duration", "4", "--warmup", "1", "--users", "4") as proc:
        wait_for(lambda: load_started(out))
        server = child_named(proc, "uvicorn")
        time.sleep(max(0.0, window_start(out) + 0.7 - time.time()))
        server.suspend()
        try:
            _, stderr = proc.communicate(timeout=120)
        finally:
            if server.is_running():
                server.resume()
    assert proc.returncode == exitcodes.NOTHING_MEASURED, stderr[-2000:]
    (row,) = rows(only_run(out))
    assert row["status"] == "failed", row
    assert row["reason"].startswith("the server answered nothing for 3 s of the 4 s window")
    # The users' requests that never came back are failures, in their field.
    assert row["unfinished"] == 4, row


PARTLY_FAILING = textwrap.dedent("""
    import itertools

    COUNT = itertools.count(1)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        status = 500 if next(COUNT) % 10 == 0 else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"Hello World"})
""")


def test_a_failed_row_keeps_its_failure_counts(out, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "partly.py").write_text(PARTLY_FAILING)
    junit = tmp_path / "junit.xml"
    args = ["--servers", "uvicorn", "--app", "partly:app", "--junit", str(junit)]
    proc = short_run(out, *args, cwd=project)
    assert proc.returncode == exitcodes.NOTHING_MEASURED, proc.stderr[-2000:]
    (row,) = rows(only_run(out))
    assert row["status"] == "failed"
    # The CI system's view: one test case, failed with the row's reason.
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("1", "1")
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == row["reason"]
    # Every 10th request answered 500: a tenth of those answered, in their own fields.
    answered = row["requests"] + row["non_2xx"]
    assert row["non_2xx"] == pytest.approx(answered / 10, abs=2), row
    assert row["errors"] >= row["non_2xx"] and row["wrong_body"] == 0, row


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_signal_while_the_report_is_written_leaves_a_whole_result(out, sig, code):
    args = ["run", "--servers", "uvicorn", "--apps", "hello", "--no-native-peak", "--out", str(out)]
    with harness(*args, "--duration", "1", "--warmup", "1", "--users", "4") as proc:
        # The first chart on disk: the measurement is over and the report is being drawn.
        wait_for(lambda: bool(list(out.glob("*/charts/*.png"))), timeout=120)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-2000:]
    run_dir = only_run(out)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["interrupted"] is True, manifest
    assert manifest["interrupted_by"] == signal.Signals(sig).name
    (row,) = rows(run_dir)
    assert row["status"] == "ok", row  # the measurement itself was whole
    report = (run_dir / "report.html").read_text()
    assert report.rstrip().endswith("</html>") and "interrupted by" in report


def test_a_harness_killed_by_sigkill_leaves_no_process_and_no_key(out, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}  # where the throwaway TLS key goes
    args = ["run", "--servers", "hypercorn", "--apps", "hello", "--tls", "--out", str(out)]
    with harness(*args, "--duration", "30", "--warmup", "1", "--users", "4", env=env) as proc:
        wait_for(lambda: load_started(out))
        # hypercorn's worker and Locust: what a killed harness used to leave running.
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("hypercorn" in " ".join(p.cmdline()) for p in children)
        assert list(scratch.rglob("*.pem")), "the key is there while the run is"
        proc.kill()
        proc.communicate(timeout=30)
        try:
            _, alive = psutil.wait_procs(children, timeout=30)
            assert not alive, [" ".join(p.cmdline()) for p in alive]
        finally:
            for left in children:
                if left.is_running():
                    left.kill()
    deadline = time.monotonic() + 10
    while list(scratch.rglob("*.pem")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(scratch.rglob("*.pem")), "the TLS key must not outlive the run"
