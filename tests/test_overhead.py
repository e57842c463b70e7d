"""``asgi-bench overhead``: the arithmetic of its figures, and its last line from a real run."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from asgi_bench.collectors import compiled
from asgi_bench.commands import overhead
from asgi_bench.commands.overhead import _disturbed, summary_line
from asgi_bench.results.repeat import Repeat
from tests.e2e import cli

LINE = re.compile(
    r"overhead: in-process \+\d+\.\d\d us/request; "
    r"uvicorn CPU/request \d+\.\d\d of bare, p99 \d+\.\d\d of bare, "
    r"saturation (\d+\.\d\d|–) of bare\Z"
)


def test_summary_line_takes_medians_over_rounds() -> None:
    # In-process [2.3, 1.9, 2.0, 2.6] -> (2.0 + 2.3) / 2 = 2.15; uvicorn CPU [1.04, 0.98,
    # 1.10] -> 1.04, p99 [1.5, 0.8, 1.0] -> 1.0; granian CPU [1.2, 1.0] -> 1.1, p99 [1, 2] -> 1.5.
    line = summary_line(
        [2.3, 1.9, 2.0, 2.6],
        {
            "uvicorn": {"cpu": [1.04, 0.98, 1.10], "p99": [1.5, 0.8, 1.0]},
            "granian": {"cpu": [1.2, 1.0], "p99": [1.0, 2.0]},
        },
    )
    assert line == (
        "overhead: in-process +2.15 us/request; uvicorn CPU/request 1.04 of bare, "
        "p99 1.00 of bare; granian CPU/request 1.10 of bare, p99 1.50 of bare"
    )


def _repeat(**fields: object) -> Repeat:
    base: dict[str, object] = {
        "status": "ok",
        "cpu_us_per_request": 120.0,
        "p99_ms": 2.0,
        "achieved_rps": 2000.0,
        "bound": "neither",
        "interference": 0.02,
    }
    base.update(fields)
    return Repeat("uvicorn", "hello", "open-2000rps", **base)  # type: ignore[arg-type]


def test_a_round_counts_only_at_the_offered_rate_on_a_quiet_machine() -> None:
    assert _disturbed(_repeat(), 2000) == ""
    # Driver-limited by the one rule (asgi_bench.verdict.limits), which the judge applied:
    # the round's bound says it, whatever its achieved rate.
    assert _disturbed(_repeat(achieved_rps=1979.0), 2000) == ""
    said = _disturbed(_repeat(bound="driver", achieved_rps=1979.0), 2000)
    assert said == "driver-limited at 1979 of 2000 req/s"
    # Interference is flagged above 10%: 0.10 passes, 0.11 is "11% ... went elsewhere".
    assert _disturbed(_repeat(interference=0.10), 2000) == ""
    assert "11% of the pinned CPUs" in _disturbed(_repeat(interference=0.11), 2000)
    assert _disturbed(_repeat(status="failed", reason="boom"), 2000) == "failed: boom"
    assert _disturbed(_repeat(p99_ms=None), 2000) == "failed: no figures"


def test_a_round_that_stays_disturbed_is_left_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Three rounds; in round 2 the bare server is disturbed on every attempt (1 + RETRIES):
    # the round is left out, and the ratios come from rounds 1 and 3: instrumented 126 µs
    # over bare 120 µs = 1.05, and p99 2.2 / 2.0 = 1.1.
    calls: list[tuple[int, bool]] = []

    def fake_run_job(settings, job, layout, resources):  # type: ignore[no-untyped-def]
        bare = not settings.config.metrics
        round_ = int(layout.root.name.removeprefix("round"))
        calls.append((round_, bare))
        if round_ == 2 and bare:
            return _repeat(interference=0.2)
        return _repeat(cpu_us_per_request=120.0 if bare else 126.0, p99_ms=2.0 if bare else 2.2)

    monkeypatch.setattr(overhead, "run_job", fake_run_job)
    monkeypatch.setattr(overhead, "LocalResources", lambda settings, tls: None)
    monkeypatch.setattr("asgi_bench.commands.overhead.time.sleep", lambda seconds: None)
    out = io.StringIO()
    ratios = overhead.under_server("uvicorn", 2000, 3, 3, tmp_path, Console(file=out, width=200))
    assert ratios == {
        "cpu": [pytest.approx(1.05)] * 2,
        "p99": [pytest.approx(1.1)] * 2,
        "saturation": [],  # no users: no saturation figure
    }
    # Round 2 runs instrumented first (alternating), then bare three times, then gives up.
    assert calls.count((2, True)) == 1 + overhead.RETRIES
    assert "round 2: left out, bare stayed disturbed" in out.getvalue()
    assert "1 of 3 rounds left out" in out.getvalue()


def test_overhead_prints_its_line_for_scripts() -> None:
    # A real, tiny run: one round under uvicorn, bare and instrumented, at a low rate.
    proc = cli(
        "overhead",
        "--requests",
        "2000",
        "--rounds",
        "1",
        "--seconds",
        "1",
        "--rate",
        "200",
        "--servers",
        "uvicorn",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert LINE.match(last), last
    assert "uvicorn round 1: CPU/request bare" in proc.stdout
    # Both builds in process where the compiled one is built, the Python one alone elsewhere.
    compiles = compiled.problem() is None
    assert ("Middleware: mypyc" if compiles else "Middleware: python") in proc.stdout
    assert ("single-process (mypyc) +" in proc.stdout) == compiles
    assert "single-process (python) +" in proc.stdout


def test_saturation_counts_only_rounds_in_which_the_server_was_the_limit_both_ways(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Round 1: bare 40,000 req/s, instrumented 38,000, both server-bound: 0.950. Round 2:
    # the bare peak was the driver's (bound "driver"): said, not counted.
    def fake_run_job(settings, job, layout, resources):  # type: ignore[no-untyped-def]
        bare = not settings.config.metrics
        round_ = int(layout.root.name.removeprefix("round"))
        if job.step.kind == "open":
            return _repeat()
        bound = "driver" if round_ == 2 and bare else "server"
        return _repeat(rps=40_000.0 if bare else 38_000.0, bound=bound)

    monkeypatch.setattr(overhead, "run_job", fake_run_job)
    monkeypatch.setattr(overhead, "LocalResources", lambda settings, tls: None)
    monkeypatch.setattr("asgi_bench.commands.overhead.time.sleep", lambda seconds: None)
    out = io.StringIO()
    ratios = overhead.under_server(
        "uvicorn", 2000, 3, 2, tmp_path, Console(file=out, width=300), users=32
    )
    assert ratios["saturation"] == [pytest.approx(0.95)]
    said = out.getvalue()
    assert "bare 40,000 instrumented 38,000 req/s (0.950x)" in said
    assert "not counted: the server was not the limit: instrumented server, bare driver" in said
    line = summary_line([1.0], {"uvicorn": ratios, "granian": {**ratios, "saturation": []}})
    assert line.endswith(
        "uvicorn CPU/request 1.00 of bare, p99 1.00 of bare, saturation 0.95 of bare; "
        "granian CPU/request 1.00 of bare, p99 1.00 of bare, saturation – of bare"
    )
