"""The recorder keeps what a failed cell's reason names: the first few distinct failure
messages, each cut to one line, and how often each came.

The recorder is a Locust plugin (importing it imports Locust, which patches the standard
library for gevent), so it runs in a process of its own here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

MESSAGES = """
import json
from asgi_bench.loadtests import recorder
rec = recorder.Recorder()
failures = [ConnectionResetError(104, "Connection reset by peer")] * 170
failures += [TimeoutError("timed\\nout")] * 3
failures += [OSError("x" * 500)]
failures += [OSError(f"kind {n}") for n in range(6)]  # the 6th distinct message and on: not kept
for exc in failures:
    rec.record("GET", "/", 1.0, exc, None, {})
rec.record("GET", "/", 1.0, None, None, {})  # a success names nothing
print(json.dumps(rec.data()["messages"]))
"""


def test_the_first_distinct_failure_messages_are_counted_on_one_line_each():
    env = {k: v for k, v in os.environ.items() if k != "ASGI_BENCH_RECORD_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", MESSAGES], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    long = "OSError: " + "x" * (160 - len("OSError: "))  # cut to MESSAGE_CHARS
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "ConnectionResetError: [Errno 104] Connection reset by peer": 170,
        "TimeoutError: timed out": 3,
        long: 1,
        "OSError: kind 0": 1,
        "OSError: kind 1": 1,
    }
