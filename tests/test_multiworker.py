"""Several workers: prometheus-client's multiprocess mode adds up exactly."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from asgi_bench.run.state import parse_state
from asgi_bench.system.http import get
from tests.prom import prom_sum
from tests.servers import MULTI_WORKER, running

pytestmark = pytest.mark.integration

REQUESTS = 400


@pytest.mark.parametrize("server", MULTI_WORKER)
def test_counts_across_two_workers_add_up_exactly(server, tmp_path):
    with running(server, "hello", tmp_path, workers=2) as proc:
        assert proc.multiproc_dir is not None
        workers = [p for p in proc.process.remember_tree() if p.pid != proc.process.pid]
        with ThreadPoolExecutor(8) as pool:  # new connections, spread over both workers
            bodies = list(pool.map(lambda _: get(proc.base_url + "/").body, range(REQUESTS)))
        assert bodies == [b"Hello World"] * REQUESTS
        # Every scrape may land on either worker; each must see the sum over both.
        # Every read may land on either worker; each must see the sum over both, in the
        # harness's state and in what Prometheus scrapes.
        texts = [get(proc.base_url + "/metrics").body.decode() for _ in range(4)]
        states = [json.loads(get(proc.base_url + "/metrics/state").body) for _ in range(4)]
        db_files = os.listdir(proc.multiproc_dir)
    assert len(workers) >= 2
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
