"""Profiles in rows, the report and ``asgi-bench compare``, on constructed data: a row's
component µs and what its samples do not account for, the servers compared side by side, which
profiled rows are ranked, how repeats' profiles merge into a row's, and compare's table of
where the CPU went. Expected values are worked out by hand beside each test."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from asgi_bench import exitcodes
from asgi_bench.cli import build_parser
from asgi_bench.commands.compare import flamegraphs, run_compare
from asgi_bench.report.profiles import NOT_SAMPLED, comparable, component_us
from asgi_bench.report.tables import best_cells
from asgi_bench.results.layout import RunLayout, write_json, write_text
from asgi_bench.results.read import load_run
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import aggregate
from asgi_bench.verdict.profile import COMMON_RULES, breakdown
from asgi_bench.verdict.profile_diff import ComponentChange, shifts
from tests.constructed import open_row

# One stack per component, each claimed by COMMON_RULES (checked below): a profile made of
# them has exactly the samples asked for in each component.
STACK_OF = {
    "protocol": ("Connection.next_event (h11/_connection.py:1)",),
    "loop": ("Runner.run (asyncio/runners.py:118)",),
    "app": ("app (apps/hello.py:33)",),
    "kernel": ("app (apps/hello.py:33)", "write (libc.so.6)"),
}


def profile_of(
    samples: dict[str, int], rate_hz: float = 100.0, seconds: float = 1.0, requests: float = 1000.0
) -> dict[str, Any]:
    """A repeat's profile dict as ``run --profile`` writes it: the breakdown, its target,
    and no measured cost."""
    stacks = {STACK_OF[name]: n for name, n in samples.items()}
    made = breakdown(stacks, COMMON_RULES, rate_hz, seconds, requests).to_dict()
    return made | {"target": "server", "cost": None}


def test_the_stacks_land_in_their_components():
    p = profile_of({name: 1 for name in STACK_OF})
    assert {n: c["samples"] for n, c in p["components"].items() if c["samples"]} == dict.fromkeys(
        STACK_OF, 1
    )


# 1. component_us


def test_not_sampled_is_the_cpu_the_samples_do_not_account_for():
    # At 100 Hz, 1 s and 1,000 requests a sample is 1/100 s / 1000 = 10 µs per request:
    # protocol 1 sample = 10 µs, loop 2 = 20 µs; sampled 30 µs of a measured 50 -> 20 left.
    row = open_row("uvicorn", "hello", 1000.0, cpu_us_per_request=50.0)
    row.profile = profile_of({"protocol": 1, "loop": 2})
    parts = component_us(row)
    assert dict(parts)["protocol"] == pytest.approx(10.0)
    assert dict(parts)["loop"] == pytest.approx(20.0)
    assert parts[-1][0] == NOT_SAMPLED and parts[-1][1] == pytest.approx(20.0)
    # Components in COMPONENTS order, every one, then not sampled.
    assert [name for name, _ in parts][:2] == ["protocol", "loop"] and len(parts) == 10
    # A measured 25 µs is less than the 30 sampled: never below 0.
    row.values["cpu_us_per_request"] = 25.0
    assert component_us(row)[-1] == (NOT_SAMPLED, 0.0)


def test_a_row_with_no_profile_has_no_components():
    assert component_us(open_row("uvicorn", "hello", 1000.0, cpu_us_per_request=50.0)) == []


# 2. comparable


def test_the_rate_most_servers_were_profiled_at_is_the_group():
    # uvicorn and granian profiled at 1,000 req/s, hypercorn at 300: 1,000 has two servers.
    # daphne at 1,000 is not profiled and pyserve at 1,000 failed: neither counts nor shows.
    uvicorn = open_row("uvicorn", "hello", 1000.0, profile=profile_of({"loop": 1}))
    granian = open_row("granian", "hello", 1000.0, profile=profile_of({"loop": 1}))
    hypercorn = open_row("hypercorn", "hello", 300.0, profile=profile_of({"loop": 1}))
    daphne = open_row("daphne", "hello", 1000.0)
    failed = open_row("pyserve", "hello", 1000.0, profile=profile_of({"loop": 1}), status="failed")
    groups = comparable([uvicorn, hypercorn, daphne, granian, failed])
    assert list(groups) == [("hello", 1000.0)]
    assert groups[("hello", 1000.0)] == [uvicorn, granian]


# 3. Row.ranked and best_cells


@pytest.mark.parametrize(
    ("target", "cost", "ranked"),
    [
        ("server", None, False),  # py-spy's cost to this server was never measured
        ("server", {"cpu_ratio": 1.02}, True),  # 2% more CPU: within RANKABLE (3%)
        ("server", {"cpu_ratio": 1.05}, False),  # 5%: beyond it
        ("driver", None, False),  # py-spy sampled Locust from the server's CPUs: disturbed
    ],
)
def test_a_profiled_row_is_ranked_only_where_py_spys_cost_was_measured_small(target, cost, ranked):
    row = open_row("uvicorn", "hello", 1000.0)
    assert row.ranked  # not profiled
    row.profile = profile_of({"loop": 1}) | {"target": target, "cost": cost}
    assert row.ranked is ranked


def test_the_best_marks_leave_out_a_row_that_is_not_ranked():
    # The profiled row has the lowest p50 (0.5 ms) but its cost is unmeasured: of the other
    # two, granian's 0.8 ms is the best, uvicorn's 1.0 ms is not.
    profiled = open_row("daphne", "hello", 1000.0, p50_ms=0.5, profile=profile_of({"loop": 1}))
    uvicorn = open_row("uvicorn", "hello", 1000.0, p50_ms=1.0)
    granian = open_row("granian", "hello", 1000.0, p50_ms=0.8)
    best = best_cells([profiled, uvicorn, granian])
    assert (id(granian), "p50_ms") in best
    assert not any(row_id in (id(profiled), id(uvicorn)) for row_id, _ in best)
    # Two rows, one of them not ranked: one row is left, and a lone row is no one's best.
    assert best_cells([profiled, uvicorn]) == set()


# 4. The rows' merge


def _repeat(k: int, profile: dict[str, Any] | None, status: str = "ok", **fields: Any) -> Repeat:
    base: dict[str, Any] = dict(
        server="uvicorn",
        app="hello",
        step="open-1000rps",
        repeat=k,
        order=k,
        load="open",
        offered_rps=1000.0,
        status=status,
        requests=1000,
        p50_ms=1.0 + k / 100,
        p99_ms=3.0 + k / 100,
        cpu_us_per_request=500.0 + k,
        profile=profile,
    )
    return Repeat(**(base | fields))


def test_a_rows_profile_merges_its_ok_repeats():
    # 30 + 10 = 40 kernel samples at 100 Hz: 0.4 s of GIL time over 1,000 + 1,000 requests
    # is 40 / 100 / 2000 * 1e6 = 200 µs per request. A failed repeat's 99 samples stay out.
    repeats = [
        _repeat(1, profile_of({"kernel": 30}, seconds=2.0)),
        _repeat(2, profile_of({"kernel": 10}, seconds=2.0)),
        _repeat(3, profile_of({"kernel": 99}, seconds=2.0), status="failed"),
    ]
    (row,) = aggregate(repeats)
    assert row.profile is not None
    kernel = row.profile["components"]["kernel"]
    assert kernel["samples"] == 40
    assert kernel["us_per_request"] == pytest.approx(200.0)
    assert (row.profile["seconds"], row.profile["requests"]) == (4.0, 2000.0)
    assert (row.profile["target"], row.profile["cost"]) == ("server", None)
    assert row.ranked is False  # profiled, its cost unmeasured


def test_a_row_of_unprofiled_repeats_has_no_profile():
    (row,) = aggregate([_repeat(1, None), _repeat(2, None)])
    assert row.profile is None


# 5. asgi-bench compare


MANIFEST = {
    "run_id": "run",
    "config": {"workers": 1, "tls": False, "metrics": True, "arrival": "constant"},
    "settings": {
        "servers": ["uvicorn", "granian"],
        "apps": ["hello"],
        "steps": {"hello": ["open-1000rps"]},
        "driver_processes": 1,
    },
    "host": {"cpu_model": "test", "cpu_count": 2},
}


def write_run(root: Path, repeats: list[Repeat], flames: tuple[int, ...] = ()) -> Path:
    """A run folder: run.json, each repeat's repeat.json, and an empty flame.svg for the
    repeat numbers in ``flames`` (of every row)."""
    layout = RunLayout(root)
    write_json(layout.run_json, MANIFEST | {"run_id": root.name}, schema=True)
    for r in repeats:
        where = layout.repeat(r.server, r.app, r.step, r.repeat)
        write_json(where.repeat_json, r.to_dict(), schema=True)
        if r.repeat in flames:
            write_text(where.flamegraph, "<svg/>")
    return root


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """Run A and run B of one uvicorn row, two ok repeats each, 1 s at 100 Hz, 1,000
    requests a repeat (a sample is 10 µs per request):

    * kernel: 30 samples a repeat in A (300 µs), 15 in B (150 µs): -150 µs, -50%;
    * app: 10 in both (100 µs): +0.0, +0.0%;
    * loop: none in A, 5 in B (50 µs): +50 µs, no share of A's nothing;
    * protocol: none in either: no line.

    A drew both repeats' flame graphs, B only its first's. granian's row is in A only.
    """
    a = [_repeat(k, profile_of({"kernel": 30, "app": 10})) for k in (1, 2)] + [
        _repeat(1, profile_of({"loop": 1}), server="granian")
    ]
    b = [_repeat(k, profile_of({"kernel": 15, "app": 10, "loop": 5})) for k in (1, 2)]
    return (
        write_run(tmp_path / "a", a, flames=(1, 2)),
        write_run(tmp_path / "b", b, flames=(1,)),
    )


def compare_output(a: Path, b: Path, *flags: str) -> tuple[int, str]:
    """Run ``asgi-bench compare`` in this process (not ``cli.main``: it arms the watchdog
    for the whole test session); the text on a console wide enough not to wrap a cell."""
    args = build_parser().parse_args(["compare", str(a), str(b), *flags])
    out = io.StringIO()
    code = run_compare(args, Console(file=out, width=200, color_system=None))
    return code, out.getvalue()


def test_compare_shows_where_the_cpu_went(runs):
    a, b = runs
    code, text = compare_output(a, b)
    assert code == exitcodes.OK  # the components moved, the measured figures did not
    assert "where the CPU went (µs per request, A -> B)" in text
    cells = {
        tuple(cell.strip() for cell in line.split("│")[4:9])
        for line in text.splitlines()
        if line.count("│") == 9 and "uvicorn" in line
    }
    assert ("kernel", "300.0", "150.0", "-150.0", "-50.0%") in cells
    assert ("app", "100.0", "100.0", "+0.0", "+0.0%") in cells
    assert ("loop", "0.0", "50.0", "+50.0", "–") in cells
    assert not any(line[0] == "protocol" for line in cells)
    assert not any("granian" in line for line in text.splitlines() if "│" in line)
    flame = f"flame graphs of uvicorn/hello open-1000rps: A {a}/cells/uvicorn__hello/open-1000rps"
    assert f"{flame}/r1/flame.svg {a}/cells/uvicorn__hello/open-1000rps/r2/flame.svg; B " in text
    assert f"B {b}/cells/uvicorn__hello/open-1000rps/r1/flame.svg\n" in text
    # The summary line stays the last one.
    assert text.rstrip().splitlines()[-1].startswith("0 significant regression(s)")


def test_compare_markdown_has_a_second_table(runs, capsys):
    a, b = runs
    code, text = compare_output(a, b, "--format", "markdown")
    assert code == exitcodes.OK and "0 significant regression(s)" in text
    out = capsys.readouterr().out
    first, _, second = out.partition("where the CPU went (µs per request, A -> B)\n")
    assert "| uvicorn | hello | open-1000rps | p50_ms |" in first
    lines = second.splitlines()
    assert lines[1:6] == [
        "| server | app | step | component | A | B | B - A | change |",
        "|---|---|---|---|---:|---:|---:|---:|",
        # app comes before kernel in COMPONENTS, and loop before both
        "| uvicorn | hello | open-1000rps | loop | 0.0 | 50.0 | +50.0 | – |",
        "| uvicorn | hello | open-1000rps | app | 100.0 | 100.0 | +0.0 | +0.0% |",
        "| uvicorn | hello | open-1000rps | kernel | 300.0 | 150.0 | -150.0 | -50.0% |",
    ]
    rel = "cells/uvicorn__hello/open-1000rps"
    assert lines[7] == (
        f"- flame graphs of uvicorn/hello open-1000rps: A `{a}/{rel}/r1/flame.svg` "
        f"`{a}/{rel}/r2/flame.svg`; B `{b}/{rel}/r1/flame.svg`"
    )


def test_without_a_row_profiled_in_both_nothing_more_is_printed(tmp_path, capsys):
    # B's repeats are not profiled: only the figures' table, as before.
    a = write_run(tmp_path / "a", [_repeat(k, profile_of({"kernel": 30})) for k in (1, 2)])
    b = write_run(tmp_path / "b", [_repeat(k, None) for k in (1, 2)])
    code, text = compare_output(a, b)
    assert code == exitcodes.OK and "p50_ms" in text
    assert "where the CPU went" not in text and "flame graphs" not in text
    compare_output(a, b, "--format", "markdown")
    assert "where the CPU went" not in capsys.readouterr().out


def test_a_failed_repeats_flame_graph_is_not_the_rows(tmp_path):
    # r2 failed: its flame.svg exists, but its samples are not in the row's profile.
    repeats = [_repeat(1, profile_of({"kernel": 3})), _repeat(2, None, status="failed")]
    run = load_run(write_run(tmp_path / "a", repeats, flames=(1, 2)))
    found = flamegraphs(run, "uvicorn", "hello", "open-1000rps")
    assert found == [run.layout.repeat("uvicorn", "hello", "open-1000rps", 1).flamegraph]


def test_shifts_pair_the_rows_both_runs_profiled():
    # 2 kernel samples at 100 Hz, 1 s, 1,000 requests = 20 µs; 1 = 10 µs.
    a = [
        open_row("uvicorn", "hello", 1000.0, profile=profile_of({"kernel": 2})),
        open_row("granian", "hello", 1000.0, profile=profile_of({"kernel": 2})),
        open_row("daphne", "hello", 1000.0, profile=profile_of({"kernel": 2})),
    ]
    b = [
        open_row("granian", "hello", 1000.0, profile=profile_of({"kernel": 1})),
        open_row("uvicorn", "hello", 1000.0, profile=profile_of({"kernel": 1})),
        open_row("daphne", "hello", 1000.0),  # not profiled in B
        open_row("uvicorn", "hello", 300.0, profile=profile_of({"kernel": 1})),  # not in A
    ]
    found = shifts(a, b)
    assert [(s.server, s.step) for s in found] == [
        ("uvicorn", "open-1000rps"),
        ("granian", "open-1000rps"),
    ]  # A's order
    (kernel,) = found[0].changes
    assert kernel.component == "kernel"
    assert (kernel.a, kernel.b, kernel.delta, kernel.relative) == pytest.approx(
        (20.0, 10.0, -10.0, -0.5)
    )


def test_a_profile_without_requests_has_no_change():
    change = ComponentChange("kernel", None, 10.0)
    assert (change.delta, change.relative) == (None, None)


def test_the_component_chart_stacks_each_servers_parts_at_the_shared_rate(tmp_path):
    # uvicorn: protocol 1 sample (10 µs) + loop 2 (20 µs) of a measured 50 µs: 20 not sampled,
    # so its bar ends at 50; granian: app 3 samples (30 µs) of 30: its bar ends at 30.
    from matplotlib.patches import Rectangle

    from asgi_bench.report.charts.components import draw

    uvicorn = open_row(
        "uvicorn",
        "hello",
        1000.0,
        profile=profile_of({"protocol": 1, "loop": 2}),
        cpu_us_per_request=50.0,
    )
    granian = open_row(
        "granian", "hello", 1000.0, profile=profile_of({"app": 3}), cpu_us_per_request=30.0
    )
    figure = draw([uvicorn, granian], RunLayout(tmp_path))
    assert figure is not None
    (ax,) = figure.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    ends = sorted(round(p.get_x() + p.get_width(), 6) for p in bars)
    assert ends[-1] == 50.0 and 30.0 in ends
    assert [t.get_text() for t in ax.get_yticklabels()] == ["uvicorn", "granian"]
    assert draw([open_row("uvicorn", "hello", 1000.0)], RunLayout(tmp_path)) is None
