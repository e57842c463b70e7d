"""One repeat's lifecycle with fake resources: every resource is released whatever fails,
in reverse order, and the status is decided in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgi_bench.errors import DriverError, Interrupted, ServerStartError
from asgi_bench.results.layout import RepeatLayout
from asgi_bench.run.capabilities import Observation
from asgi_bench.run.lifecycle import measure
from asgi_bench.verdict.judge import Policy, judge
from tests.fakes import FakeResources, Script, client, job

RELEASED = ["driver stop", "sampler stop", "server stop"]


def run(script: Script, tmp_path: Path, users: int = 4, http: str = "1.1"):
    measurement = measure(
        job(users=users, http=http), RepeatLayout(tmp_path), FakeResources(script)
    )
    return measurement, judge(measurement.facts, Policy(concurrency=users))


def test_the_phases_run_in_order_and_release_in_reverse(tmp_path):
    script = Script()
    _, repeat = run(script, tmp_path)
    assert script.log == [
        "server start",
        "probe",
        "sampler start",
        "counters drained",  # the baseline: after whatever the probes left running
        "mark load start",
        "driver start",
        "window",
        "profile start",  # --profile: attached before the window, stopped at its end
        "counters read",
        "counters read",
        "profile stop",
        "driver wait",
        "counters drained",
        *RELEASED,
        "client stats",
    ]
    assert repeat.status == "ok", repeat.reason
    assert (repeat.requests, repeat.rps) == (200, 100.0)
    assert repeat.count_check == "ok"


@pytest.mark.parametrize(
    "point",
    [
        "probe",
        "sampler start",
        "counters read",
        "driver start",
        "window",
        "profile start",
        "profile stop",
        "driver wait",
    ],
)
def test_a_failure_at_any_phase_releases_everything_started(tmp_path, point):
    script = Script(fail_at=point)
    _, repeat = run(script, tmp_path)
    assert repeat.status == "failed"
    assert repeat.reason == f"internal error: Boom: boom at {point}"
    assert script.log[-1] == "server stop"
    started = {
        "driver start": "driver stop",
        "sampler start": "sampler stop",
        "profile start": "profile stop",
    }
    for opened, closed in started.items():
        if opened in script.log[: script.log.index(point) + 1] and opened != point:
            assert closed in script.log, (opened, script.log)


def test_a_failing_release_still_releases_the_rest(tmp_path):
    # The sampler raises on the way out (say, its file could not be written): the server is
    # stopped anyway, and the repeat says why it failed.
    script = Script(fail_at="sampler stop")
    measurement, repeat = run(script, tmp_path)
    assert script.log[-2:] == ["sampler stop", "server stop"]
    assert repeat.status == "failed" and "boom at sampler stop" in repeat.reason
    assert measurement.facts.traceback and "Boom" in measurement.facts.traceback


def test_a_server_that_died_under_load_fails_the_repeat(tmp_path):
    script = Script(problem="hypercorn was killed by SIGKILL under load")
    _, repeat = run(script, tmp_path)
    assert (repeat.status, repeat.reason) == (
        "failed",
        "hypercorn was killed by SIGKILL under load",
    )
    assert repeat.cpu_us_per_request is None  # no figure from a server that was not there
    assert script.log[-1] == "server stop"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ServerStartError("uvicorn exited with code 1 before it was ready: bad"), "uvicorn exited"),
        (DriverError("Locust exited with code 2: no module"), "Locust exited with code 2"),
    ],
)
def test_expected_errors_become_reasons(tmp_path, monkeypatch, error, reason):
    script = Script()

    def wait() -> None:
        raise error

    resources = FakeResources(script)
    real = resources.driver

    def driver(*args):
        fake = real(*args)
        fake.wait = wait  # type: ignore[method-assign]
        return fake

    monkeypatch.setattr(resources, "driver", driver)
    measurement = measure(job(), RepeatLayout(tmp_path), resources)
    repeat = judge(measurement.facts, Policy())
    assert repeat.status == "failed" and repeat.reason.startswith(reason)
    assert measurement.facts.traceback is None  # not a bug: no traceback kept
    assert script.log[-3:] == RELEASED


def test_an_interrupt_releases_everything_and_is_handed_back(tmp_path, monkeypatch):
    script = Script()
    resources = FakeResources(script)

    def counters(*args):
        class Interrupting:
            """The baseline reads; at the window's first edge, SIGTERM arrives."""

            failures: tuple[str, ...] = ()
            calls = 0

            def read(self, since=None):
                self.calls += 1
                if self.calls > 1:
                    raise Interrupted(15, "SIGTERM")

            def read_at(self, t):
                return self.read(t)

            def drained(self):
                return None

        return Interrupting()

    monkeypatch.setattr(resources, "counters", counters)
    measurement = measure(job(), RepeatLayout(tmp_path), resources)
    assert measurement.interrupted is not None and measurement.interrupted.name == "SIGTERM"
    assert script.log[-3:] == RELEASED
    assert judge(measurement.facts, Policy()).reason == "interrupted (SIGTERM)"


def test_failed_requests_are_not_requests(tmp_path):
    # 90 successes and 10 failures: rps counts the 90; the share failed is 10 / 100.
    script = Script(
        client=client(requests=90, failures={"non_2xx": 10, "wrong_body": 0, "exceptions": 0})
    )
    _, repeat = run(script, tmp_path)
    assert (repeat.requests, repeat.errors, repeat.rps) == (90, 10, 45.0)
    assert repeat.status == "failed"
    assert repeat.reason == "10.0% of requests failed (non-2xx 10, wrong body 0, exceptions 0)"


def test_a_failed_cell_names_its_most_frequent_failure(tmp_path):
    failing = client(requests=90, failures={"non_2xx": 0, "wrong_body": 0, "exceptions": 10})
    failing.messages = {"TimeoutError: timed out": 2, "ConnectionResetError: reset": 8}
    _, repeat = run(Script(client=failing), tmp_path)
    assert repeat.reason == (
        "10.0% of requests failed (non-2xx 0, wrong body 0, exceptions 10); "
        "most often over the run ConnectionResetError: reset (8 times)"
    )


def test_a_server_seen_not_to_speak_the_steps_protocol_gets_no_load(tmp_path):
    # uvicorn answered the h2c probe in HTTP/1.1: no driver starts, the server is stopped,
    # and the repeat is unsupported with what was seen, never measured as HTTP/2.
    seen = Observation("h2c", False, "the server answered HTTP/1: HTTP/1.1 400 Bad Request")
    script = Script(observations=[seen])
    _, repeat = run(script, tmp_path, http="2")
    assert script.log == ["server start", "probe", "server stop"]
    assert repeat.status == "unsupported"
    assert repeat.reason == (
        "uvicorn does not speak h2c: the server answered HTTP/1: HTTP/1.1 400 Bad Request"
    )
    assert (repeat.http, repeat.streams, repeat.requests) == ("2", 4, None)
    assert repeat.capabilities == {"h2c": False}


def test_a_server_seen_speaking_it_is_measured_and_the_row_says_so(tmp_path):
    script = Script(observations=[Observation("h2c", True, "prior knowledge: HTTP/2 200")])
    _, repeat = run(script, tmp_path, http="2")
    assert "driver start" in script.log and repeat.status == "ok", repeat.reason
    assert (repeat.http, repeat.streams, repeat.step) == ("2", 4, "closed-4u-h2")


@pytest.mark.parametrize(
    ("http", "over_h2", "reason"),
    [
        ("2", 200, ""),
        ("2", 150, "the app saw 150 of 200 requests as HTTP/2 in an HTTP/2 step"),
        ("1.1", 0, ""),
        ("1.1", 10, "the app saw 10 of 200 requests as HTTP/2 in an HTTP/1.1 step"),
    ],
)
def test_the_protocol_the_app_saw_must_be_the_steps(http, over_h2, reason, tmp_path):
    # The middleware counts what scope["http_version"] said; the client's word is not enough.
    seen = [Observation("h2c", True, "prior knowledge: HTTP/2 200")] if http == "2" else []
    _, repeat = run(Script(observations=seen, over_h2=over_h2), tmp_path, http=http)
    assert (repeat.status, repeat.reason) == ("failed" if reason else "ok", reason)
