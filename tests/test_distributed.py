"""Scaling out: a master, Locust workers started as separate ``asgi-bench worker`` processes,
and the server, each on a loopback address of its own (127.0.0.2, .3, .4, .5), to prove that
nothing assumes one host. All traffic stays on 127.0.0.0/8."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import psutil
import pytest

from asgi_bench import exitcodes
from asgi_bench.run.resources import free_port
from tests.e2e import cli, only_run, repeat_dir, rows

pytestmark = pytest.mark.integration

MASTER, SERVER = "127.0.0.2", "127.0.0.3"


@contextmanager
def worker(master: str, bind: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``asgi-bench worker``, its scratch folder beside ``log``; on the way out stopped as a
    user stops it (SIGTERM), then whatever is left of its tree killed by pid."""
    env = {**os.environ, "TMPDIR": str(log.parent)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "asgi_bench", "worker", "--master", master, "--bind", bind],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        kill_tree(proc.pid)


def kill_tree(pid: int) -> None:
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        with suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(tree, timeout=10)


def distributed_run(out: Path, port: int, *args: str) -> list[str]:
    return [
        "run",
        "--servers",
        "uvicorn",
        "--expect-workers",
        "2",
        "--master-bind",
        MASTER,
        "--master-port",
        str(port),
        "--server-host",
        SERVER,
        "--warmup",
        "1",
        "--out",
        str(out),
        *args,
    ]


def test_two_workers_on_other_addresses_give_what_a_local_run_gives(out, tmp_path):
    port = free_port(MASTER)
    master = f"{MASTER}:{port}"
    with ExitStack() as stack:
        for n, bind in enumerate(("127.0.0.4", "127.0.0.5")):
            stack.enter_context(worker(master, bind, tmp_path / f"worker{n}.log"))
        args = distributed_run(out, port, "--apps", "hello", "--rates", "600", "--duration", "3")
        proc = cli(*args, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run_dir = only_run(out)
    (row,) = rows(run_dir)
    assert row["status"] == "ok", row["reason"]
    assert row["count_check"] == "ok", row["count_detail"]  # reconciled across workers
    record = json.loads(
        (repeat_dir(run_dir, "uvicorn", "hello", row["step"]) / "recorder.json").read_text()
    )
    workers = [p for p in record["processes"] if p["role"] == "worker"]
    assert len(workers) == 2 and not record["missing_workers"]
    # Each worker offered half the rate and says how busy it was; latency merged from both.
    assert all(p["counted_window"] > 0 and p["cpu_edges"][1] is not None for p in workers)
    assert row["requests"] == sum(p["counted_window"] for p in workers) - row["errors"]
    # Both workers' halves, give or take their lag at the window's edges on two busy cores:
    # one worker's alone would be 300, each offering the whole rate 1,200.
    assert row["achieved_rps"] == pytest.approx(600, rel=0.05)
    assert row["p50_ms"] and row["driver_busy"] is not None
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["config"]["expect_workers"] == 2
    # Stopped by SIGTERM, each worker removed its scratch folder (the master's Locust files).
    assert not list(tmp_path.glob("asgi-bench-worker-*"))


def test_a_worker_lost_mid_cell_fails_that_cell_by_name_and_the_next_fails_clearly(out, tmp_path):
    port = free_port(MASTER)
    master = f"{MASTER}:{port}"
    with ExitStack() as stack:
        doomed = stack.enter_context(worker(master, "127.0.0.4", tmp_path / "w0.log"))
        stack.enter_context(worker(master, "127.0.0.5", tmp_path / "w1.log"))
        args = distributed_run(
            out,
            port,
            "--apps",
            "hello",
            "--rates",
            "300",
            "--repeat",
            "2",
            "--duration",
            "6",
            "--workers-timeout",
            "8",
            "--stop-timeout",
            "2",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "asgi_bench", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not list(out.glob("*/cells/*/*/r1/window.json")):
                assert time.monotonic() < deadline, "the first repeat never started"
                time.sleep(0.2)
            time.sleep(1.5)
            kill_tree(doomed.pid)  # the worker and its Locust process, mid-cell
            stdout, stderr = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == exitcodes.NOTHING_MEASURED, stdout[-2000:] + stderr[-2000:]
    (row,) = rows(only_run(out))
    assert row["status"] == "failed"
    assert "driver worker(s)" in row["reason"] and "stopped reporting" in row["reason"], row[
        "reason"
    ]
    # The second repeat's master waited for two workers and gave up, saying so.
    assert "repeat 2: Locust" in row["reason"] and "worker" in row["reason"].split("repeat 2:")[1]
