"""Several workers: prometheus-client's multiprocess mode adds up exactly."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from asgi_bench.collectors.scrape import parse
from asgi_bench.http import get
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
        snaps = [parse(get(proc.base_url + "/metrics").body.decode(), 0) for _ in range(4)]
        db_files = os.listdir(proc.multiproc_dir)
    assert len(workers) >= 2
    for snap in snaps:
        assert snap.requests == REQUESTS + 1  # plus the readiness check
        assert snap.in_progress == 0
    writers = {name.rsplit("_", 1)[1] for name in db_files if name.startswith("counter_")}
    assert len(writers) >= 2, f"only one worker served: {db_files}"
    assert not proc.multiproc_dir.exists()  # removed when the server stopped
