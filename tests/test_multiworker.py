"""Several workers: prometheus-client's multiprocess mode adds up exactly, and a server's CPU
is its whole process tree's."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from asgi_bench.run.samplers import ProcessSampler
from asgi_bench.run.state import parse_state
from asgi_bench.system.http import get
from tests.prom import prom_sum
from tests.servers import MULTI_WORKER, installed, running

pytestmark = pytest.mark.integration

REQUESTS = 400


@pytest.mark.parametrize("server", MULTI_WORKER)
def test_counts_across_two_workers_add_up_exactly(server, tmp_path):
    with running(server, "hello", tmp_path, workers=2) as proc:
        assert proc.multiproc_dir is not None
        # Ready means one worker answers; the next starts a moment later (on a busy machine,
        # later still). Wait until the state lists both: a process counted among the server's
        # children may be multiprocessing's resource tracker, not a worker.
        deadline = time.monotonic() + 30
        while len(json.loads(get(proc.base_url + "/metrics/state").body)["workers"]) < 2:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        with ThreadPoolExecutor(8) as pool:  # new connections, spread over both workers
            bodies = list(pool.map(lambda _: get(proc.base_url + "/").body, range(REQUESTS)))
        assert bodies == [b"Hello World"] * REQUESTS
        # Every scrape may land on either worker; each must see the sum over both.
        # Every read may land on either worker; each must see the sum over both, in the
        # harness's state and in what Prometheus scrapes.
        texts = [get(proc.base_url + "/metrics").body.decode() for _ in range(4)]
        states = [json.loads(get(proc.base_url + "/metrics/state").body) for _ in range(4)]
        db_files = os.listdir(proc.multiproc_dir)
    for text in texts:
        assert prom_sum(text, "asgi_requests_total") == REQUESTS + 1  # plus the readiness GET
        assert prom_sum(text, "asgi_requests_in_progress") == 0
    for data in states:
        state = parse_state(data, 0.0)
        assert state.requests == state.ok_requests == REQUESTS + 1
        assert state.in_progress == 0 and sum(state.duration.values()) == REQUESTS + 1
        assert len(data["workers"]) >= 2 and data["cpu_s"] > 0
    writers = [name for name in db_files if name.endswith(".slots")]
    assert len(writers) >= 2, f"only one worker served: {db_files}"
    assert not proc.multiproc_dir.exists()  # removed when the server stopped


@pytest.mark.parametrize("server", installed(["gunicorn-uvicorn", "gunicorn"]))
def test_a_gunicorn_trees_cpu_is_its_arbiters_and_every_workers(server, tmp_path):
    # gunicorn forks its workers from an arbiter that serves nothing: a sampler reading
    # only the pid the harness started would miss nearly all of the work.
    with running(server, "hello", tmp_path, workers=2) as proc:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: get(proc.base_url + "/"), range(REQUESTS)))
        tree = proc.process.remember_tree()
        sampled = ProcessSampler(proc.process.pid).read()
        each = {p.pid: sum(p.cpu_times()[:2]) for p in tree}
    assert sampled is not None
    cpu_s, _, processes, memory_kind = sampled
    workers = [cpu for pid, cpu in each.items() if pid != proc.process.pid]
    assert len(workers) == 2 and processes == 3, each
    # Three processes' CPU, not the arbiter's alone (each worker imported the app and served).
    assert cpu_s == pytest.approx(sum(each.values()), abs=0.05), (cpu_s, each)
    assert cpu_s > each[proc.process.pid] + max(workers), (cpu_s, each)
    assert memory_kind == "pss"  # forked workers share pages: RSS would count them twice
