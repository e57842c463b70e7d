"""Faults as users meet them, done for real: signals to the real process, a full disk (a
small tmpfs), killed servers and drivers, bad values. Each test asserts the exit code, that
the partial results are valid, and (through ``no_orphans``) that no process is left."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from asgi_bench import exitcodes
from asgi_bench.run.resources import free_port
from tests.e2e import cli, only_run, rows

pytestmark = pytest.mark.integration

FAST = ["--duration", "30", "--warmup", "1", "--users", "4"]


@contextmanager
def harness(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``asgi-bench ARGS`` in its own session (as a terminal would start it), killed on the
    way out if a test leaves it running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "asgi_bench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def load_started(out: Path) -> bool:
    return bool(list(out.glob("*/cells/*/*/r1/window.json")))


def any_child_named(proc: subprocess.Popen[str], word: str) -> bool:
    try:
        child_named(proc, word)
    except AssertionError:
        return False
    return True


def child_named(proc: subprocess.Popen[str], module: str) -> psutil.Process:
    """The harness's child running ``python -m module``: a server or Locust (Locust's
    arguments name the server too, in its cell's path)."""
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if ("-m", module) in itertools.pairwise(argv):
            return child
    raise AssertionError(f"no child process running {module}")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_get_what_ctrl_c_gets(tmp_path, sig, code):
    out, scratch = tmp_path / "results", tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}  # where the throwaway TLS key goes
    args = ["run", "--servers", "uvicorn,granian", "--apps", "hello", "--tls", "--out", str(out)]
    with harness(*args, *FAST, env=env) as proc:
        wait_for(lambda: load_started(out))
        time.sleep(1)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr[-2000:]
    run_dir = only_run(out)
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["interrupted"] is True and manifest["finished_at"]
    assert manifest["interrupted_by"] == signal.Signals(sig).name
    assert [r["reason"] for r in rows(run_dir)] == [f"interrupted ({signal.Signals(sig).name})"]
    assert (run_dir / "report.html").exists()
    assert not list(scratch.rglob("*.pem")), "the TLS key must not outlive the run"


def test_a_killed_hypercorn_leader_fails_the_repeat_and_its_worker_is_stopped(out):
    # hypercorn's worker keeps serving when its leader dies: the repeat must not be "ok"
    # at 0 us of CPU per request, and the worker must not be left running.
    args = ["run", "--servers", "hypercorn", "--apps", "hello", "--out", str(out)]
    with harness(*args, "--duration", "4", "--warmup", "1", "--users", "4") as proc:
        wait_for(lambda: load_started(out))
        leader = child_named(proc, "hypercorn")
        leader.kill()
        _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == exitcodes.NOTHING_MEASURED, stderr[-2000:]
    assert "asgi-bench: no row succeeded (1 failed)" in stderr
    (row,) = rows(only_run(out))
    assert row["status"] == "failed"
    assert row["reason"] == "hypercorn was killed by SIGKILL under load", row["reason"]
    assert row["cpu_us_per_request"] is None


def test_a_killed_locust_is_the_reason_not_a_closed_file(out):
    args = ["run", "--servers", "uvicorn", "--apps", "hello", "--out", str(out)]
    with harness(*args, "--duration", "6", "--warmup", "1", "--users", "4") as proc:
        wait_for(lambda: load_started(out))
        child_named(proc, "locust").kill()
        proc.communicate(timeout=90)
    (row,) = rows(only_run(out))
    assert row["status"] == "failed"
    assert row["reason"].startswith("Locust was killed by SIGKILL"), row["reason"]


def test_a_server_killed_under_load_says_it_died(out):
    args = ["run", "--servers", "uvicorn", "--apps", "hello", "--out", str(out)]
    with harness(*args, "--duration", "6", "--warmup", "1", "--users", "4") as proc:
        wait_for(lambda: load_started(out))
        time.sleep(0.5)
        child_named(proc, "uvicorn").kill()
        proc.communicate(timeout=90)
    (row,) = rows(only_run(out))
    assert row["status"] == "failed"
    assert row["reason"] == "uvicorn was killed by SIGKILL under load", row["reason"]


def test_a_full_disk_ends_the_run_with_one_line_and_valid_results(tiny_disk):
    out = tiny_disk / "results"
    args = [
        "run",
        "--servers",
        "uvicorn,granian,hypercorn",
        "--apps",
        "hello,sse",
        "--out",
        str(out),
    ]
    with harness(*args, "--duration", "2", "--warmup", "1", "--users", "4") as proc:
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr[-2000:]
    assert "No space left on device" in stderr and "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) == 1, stderr
    run_dir = only_run(out)
    json.loads((run_dir / "run.json").read_text())  # still valid
    assert not list(run_dir.rglob("*.tmp")), "no half-written file may be left"


def test_a_read_only_out_is_refused_before_any_server(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], check=True)
    try:
        proc = cli("run", "--servers", "uvicorn", "--apps", "hello", "--out", str(mount))
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("is not writable: Read-only file system")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_lifespan_startup_error_is_a_failed_capability(out, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "brokenlife.py").write_text(
        textwrap.dedent("""
        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                await receive()
                raise RuntimeError("startup broke")
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"ok"})
        """)
    )
    args = ["run", "--servers", "uvicorn", "--app", "brokenlife:app", "--out", str(out)]
    proc = cli(*args, "--duration", "1", "--warmup", "0", "--users", "2", cwd=project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = rows(only_run(out))
    assert row["capabilities"]["lifespan_startup"] is False
    assert any("lifespan startup" in note for note in row["notes"]), row["notes"]


def test_ui_with_its_web_port_taken_says_which_and_why(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        web_port = holder.getsockname()[1]
        proc = cli(
            "ui",
            "uvicorn",
            "hello",
            "--port",
            str(free_port()),
            "--web-port",
            str(web_port),
            timeout=120,
        )
    assert proc.returncode == 1
    said = proc.stdout + proc.stderr
    assert "Locust web UI exited with code" in said, said[-2000:]
    assert "address already in use" in said.lower(), said[-2000:]


def test_ctrl_c_while_serve_starts_is_quiet(tmp_path):
    port = free_port()
    with harness("serve", "hypercorn", "hello", "--port", str(port)) as proc:
        # Inside the server's start-up, however fast this machine is: its process exists
        # and its port does not answer yet.
        deadline = time.monotonic() + 60
        while not any_child_named(proc, "hypercorn") and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130)
    assert "Traceback" not in stderr, stderr


BAD = [
    (["run", "--servers", "uvicorn,uvicorn"], "--servers names 'uvicorn' twice"),
    (["run", "--servers="], "--servers is empty; choose from"),
    (["run", "--apps=,"], "--apps is empty; choose from"),
    (["run", "--duration", "nan"], "--duration must be a finite number > 0, got nan"),
    (["run", "--duration", "inf"], "--duration must be a finite number > 0, got inf"),
    (["run", "--max-error-rate", "-1"], "--max-error-rate must be a share between 0 and 1"),
    (["run", "--spawn-rate", "0"], "--spawn-rate must be a finite number > 0"),
    (["run", "--server-cpus", "99"], "--server-cpus '99' is not within the CPUs available"),
    (["run", "--server-cpus", "abc"], "bad --server-cpus 'abc'"),
    (["run", "--app", "nosuchmod:app"], "cannot be imported"),
    (["run", "--out", "/proc/asgi-bench"], "is not writable"),
    (["run", "--targets", "uvicorn=http://127.0.0.1:1", "--tls"], "--tls needs https:// targets"),
    (["serve", "uvicorn", "hello", "--cpus", "7"], "--cpus '7' is not within the CPUs"),
    (["serve", "uvicorn", "hello", "--port", "70000"], "70000 is not a port"),
    (["serve", "uvicorn", "hello", "--port", "0"], "0 is not a port"),
    (["serve", "uvicorn", "hello", "--port", "-1"], "-1 is not a port"),
    (["serve", "uvicorn", "hello", "--workers", "0"], "must be at least 1, got 0"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_are_one_line_and_exit_2_before_any_server(argv, message, tmp_path):
    out = ["--out", str(tmp_path / "results")] if argv[0] == "run" and "--out" not in argv else []
    proc = cli(*argv, *out, timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_an_existing_file_as_out_is_refused(tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("")
    proc = cli("run", "--servers", "uvicorn", "--apps", "hello", "--out", str(taken))
    assert proc.returncode == 2
    assert "is a file, not a folder" in proc.stderr
