"""The analysis, the summary, every chart and the report, rebuilt from a checked-in run.

``tests/data/run`` is the real output of a tiny run (``scripts/make-fixture``), pruned to the
files they read. Nothing here starts a server; the whole file runs in a few seconds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from asgi_bench.report.charts import CHARTS, OPT_IN
from asgi_bench.report.page import render_report
from asgi_bench.report.tables import best_cells, same_load
from asgi_bench.results.layout import RepeatLayout, RunLayout, read_json
from asgi_bench.results.read import load_run
from asgi_bench.results.rows import Row, aggregate, sort_rows
from asgi_bench.results.summary import rows_of
from asgi_bench.system.importer import import_from_string
from asgi_bench.types import Status
from asgi_bench.verdict.client import load_client_stats

FIXTURE = Path(__file__).parent / "data" / "run"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """pyplot keeps every figure a test draws until it is closed (and warns past 20)."""
    yield
    plt.close("all")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(FIXTURE, copy)
    return copy


def repeat_folders(run_dir: Path) -> list[Path]:
    return sorted(p.parent for p in run_dir.glob("cells/*/*/r*/repeat.json"))


def test_the_analysis_gives_back_what_the_run_recorded(run_dir):
    folders = repeat_folders(run_dir)
    assert folders
    for folder in folders:
        recorded = read_json(folder / "repeat.json", schema=True)
        if recorded["status"] != "ok":
            continue
        stats = load_client_stats(RepeatLayout(folder))
        assert stats.requests == recorded["requests"], folder
        assert stats.errors == recorded["errors"], folder
        assert stats.rps == pytest.approx(recorded["rps"]), folder
        for name in ("p50_ms", "p99_ms", "max_ms"):
            assert stats.latency_ms[name] == pytest.approx(recorded[name]), (folder, name)
        assert stats.counted_total == stats.locust_total == recorded["client_requests_total"]


def test_the_summary_has_one_row_per_cell_and_step(run_dir):
    loaded = load_run(run_dir)
    rows = sort_rows(aggregate(loaded.repeats), loaded.manifest)
    steps = ["open-200rps", "open-400rps", "closed-8u"]
    keys = [(r.server, r.app, r.step) for r in rows]
    assert keys == [
        (s, a, st) for s in ("uvicorn", "granian") for a in ("hello", "sse") for st in steps
    ]
    assert all(r.repeats == r.planned == 2 for r in rows)
    assert not loaded.damaged
    # Two repeats: every figure has its interval (Student t) and CV, and a noise verdict.
    for row in rows:
        if row.status == "ok":
            assert row.ci_method == "t" and row.noisy is not None
            low, high = row.ci95["p50_ms"] or (None, None)
            assert low is not None and high is not None and low <= high


# The fixture run was made without --profile: the component chart's test is in
# tests/test_compare_profiles.py, on constructed profiled rows.
EVERY_RUN = [name for name in CHARTS if name not in OPT_IN]


@pytest.mark.parametrize("name", EVERY_RUN)
def test_every_chart_draws_from_the_fixture(run_dir, name):
    loaded = load_run(run_dir)
    rows = aggregate(loaded.repeats)
    figure = import_from_string(CHARTS[name])(rows, RunLayout(run_dir))
    assert figure is not None, f"chart {name} had nothing to draw"
    assert figure.axes


def test_the_report_is_rebuilt_with_every_chart(run_dir):
    page = render_report(run_dir).read_text()
    pngs = sorted(p.stem for p in (run_dir / "charts").glob("*.png"))
    assert pngs == sorted(EVERY_RUN)
    assert page.count("<div class='chart'><svg") == len(EVERY_RUN)  # inline: sharp on paper too
    # Values on hover: each server's line in the spectrum, with its points.
    assert "<title>uvicorn: 1 → " in page and "<title>granian: 1 → " in page
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["schema"] == 1 and len(summary["rows"]) == 12
    assert (run_dir / "summary.csv").read_text().count("\n") == 13
    assert summary["capacity"] == []  # no search ran


DAMAGE = {
    "truncated": lambda text: text[: len(text) // 2],
    "random bytes": lambda text: "\x00\xff garbage",
    "wrong types": lambda text: text.replace('"requests": ', '"requests": "many", "x": '),
    "another schema": lambda text: text.replace('"schema": 1', '"schema": 99'),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_repeat_is_listed_and_the_rest_read(run_dir, kind):
    victim = repeat_folders(run_dir)[0] / "repeat.json"
    victim.write_text(DAMAGE[kind](victim.read_text()))
    loaded = load_run(run_dir)
    assert [path for path, _ in loaded.damaged] == [str(victim.relative_to(run_dir))]
    assert len(loaded.repeats) == len(repeat_folders(run_dir)) - 1


def test_a_report_over_damaged_results_shows_them_and_the_rest(run_dir, monkeypatch):
    import asgi_bench.report.charts

    # One chart is enough to show the rest is rendered (each chart has its own test above).
    monkeypatch.setattr(asgi_bench.report.charts, "CHARTS", {"throughput": CHARTS["throughput"]})
    folders = repeat_folders(run_dir)
    victims = [folders[0] / "repeat.json", folders[-1] / "repeat.json"]  # in two rows
    for victim, kind in zip(victims, ("truncated", "wrong types"), strict=True):
        victim.write_text(DAMAGE[kind](victim.read_text()))
    manifest = run_dir / "run.json"
    manifest.write_text(manifest.read_text()[:100])  # a truncated run.json too
    client = folders[1] / "client.json"
    client.write_text("{not json")  # and a damaged client.json: the timeline skips it
    page = render_report(run_dir).read_text()
    assert "Damaged results" in page and "run.json" in page
    assert all(str(v.relative_to(run_dir)) in page for v in victims)
    assert page.count("<div class='chart'><svg") >= 1  # the other rows are still charted
    # Each damaged repeat was one of its row's two: every row is still there.
    assert len(json.loads((run_dir / "summary.json").read_text())["rows"]) == 12


def test_the_same_load_table_names_why_a_server_has_no_figures() -> None:
    # An unsupported cell is not a failure: the table says which it was, with the reason.
    def row(server: str, status: Status, reason: str = "") -> Row:
        values: dict[str, float | None] = {"p50_ms": 1.0, "p99_ms": 2.0, "cpu_us_per_request": 9.0}
        return Row(
            server, "lifespan", "open-300rps", "open", None, 300.0, status, reason, 1, 1, values
        )

    html = "".join(same_load([row("uvicorn", "ok"), row("daphne", "unsupported", "no lifespan")]))
    assert "class='unsupported' title='no lifespan'>unsupported</td>" in html
    assert ">failed<" not in html


@pytest.mark.parametrize(("requests", "bars"), [(9_999, 3), (10_000, 4)])
def test_the_latency_chart_draws_p999_only_from_windows_that_can_give_it(
    tmp_path: Path, requests: int, bars: int
) -> None:
    # p99.9 needs 10 / (1 - 0.999) = 10,000 samples per window: 9,999 in one window draws
    # p50, p90 and p99 (3 bars); 10,000 draws p99.9 too (4 bars).
    from asgi_bench.report.charts import latency

    row = Row("uvicorn", "hello", "open-400rps", "open", None, 400, "ok", "", 1, 1)
    row.values.update(p50_ms=0.5, p90_ms=0.8, p99_ms=2.0, p999_ms=9.0)
    row.counts["requests"] = row.ok_requests = requests
    figure = latency.draw([row], RunLayout(tmp_path))
    assert figure is not None
    assert len(figure.axes[0].patches) == bars


@pytest.mark.parametrize(
    ("p50", "p99", "labelled"),
    [
        (45.0, 80.0, ["50", "60", "70", "80"]),  # no power of ten in view: every tick
        (12.0, 80.0, ["20", "50"]),  # none, but wider than fivefold: 2 and 5 times one
        (8.0, 70.0, ["10", "20", "50"]),
        (0.3, 4.0, ["0.5", "1", "2"]),  # one: and the ticks at 2 and 5 times one
        (0.5, 40.0, ["1", "10"]),  # two: only they
    ],
)
def test_a_log_axis_without_a_power_of_ten_in_view_labels_its_minor_ticks(
    tmp_path: Path, p50: float, p99: float, labelled: list[str]
) -> None:
    # SSE's panel (45-80 ms) had no label on its y axis: only powers of ten were labelled.
    from asgi_bench.report.charts import latency

    row = Row("uvicorn", "sse", "open-400rps", "open", None, 400, "ok", "", 1, 1)
    row.values.update(p50_ms=p50, p90_ms=p50, p99_ms=p99)
    figure = latency.draw([row], RunLayout(tmp_path))
    assert figure is not None
    figure.canvas.draw()
    ax = figure.axes[0]
    low, high = ax.get_ylim()
    ticks = ax.get_yticklabels() + ax.get_yticklabels(minor=True)
    shown = sorted(
        (t for t in ticks if t.get_text() and low <= t.get_position()[1] <= high),
        key=lambda t: t.get_position()[1],
    )
    assert [t.get_text() for t in shown] == labelled


@pytest.mark.parametrize("chart", ["cost", "latency", "streaming"])
def test_the_note_on_hatched_bars_is_clear_of_the_legend_and_axes(
    chart: str, tmp_path: Path
) -> None:
    # The note was a caption of its own at the legend's height: drawn over by it.
    import importlib

    draw = importlib.import_module(f"asgi_bench.report.charts.{chart}").draw
    rows = []
    for server in ("uvicorn", "granian"):
        row = Row(server, "sse", "open-400rps", "open", None, 400, "ok", "", 1, 1)
        row.values.update(cpu_us_per_request=50.0, peak_rss_mib=40.0)
        for name in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "ttfb_p50_ms", "ttfb_p99_ms"):
            row.values[name] = 2.0
        row.values.update(first_p50_ms=1.0, first_p99_ms=3.0)
        row.bound = "driver" if server == "uvicorn" else "neither"  # one hatched bar
        rows.append(row)
    figure = draw(rows, RunLayout(tmp_path))
    assert figure is not None
    figure.canvas.draw()
    [legend] = figure.legends
    said = [legend.get_title(), *figure.texts]
    assert any(text.get_text().startswith("hatched") for text in said)
    box = legend.get_window_extent()
    others = [
        *(found for ax in figure.axes if (found := ax.get_tightbbox()) is not None),
        *(text.get_window_extent() for text in figure.texts),  # the note, if apart
    ]
    assert not any(box.overlaps(other) for other in others)


def test_the_timeline_shades_both_sides_of_the_window(run_dir: Path) -> None:
    # The fixture's repeats have seconds before the window (warm-up) and after it (the
    # driver stopping): each panel shades both, so neither reads as the server's latency.
    from asgi_bench.report.charts import latency_over_time

    loaded = load_run(run_dir)
    rows = sort_rows(aggregate(loaded.repeats), loaded.manifest)
    figure = latency_over_time.draw(rows, loaded.layout)
    assert figure is not None
    panels = [ax for ax in figure.axes if ax.get_title()]
    assert panels and all(len(ax.patches) == 2 for ax in panels)
    assert "outside the measured window" in panels[0].get_xlabel()


def test_the_report_links_every_section_and_row_and_marks_the_best_figures(run_dir):
    page = render_report(run_dir).read_text()
    # Every section is linked from the top, by an anchor that exists.
    nav = page[page.index("<nav>") : page.index("</nav>")]
    targets = [part.split("'")[0] for part in nav.split("href='#")[1:]]
    assert "every-row" in targets and "charts" in targets and "manifest" in targets
    assert all(f"id='{target}'" in page for target in targets)
    assert (
        "<table class='sortable' id='every-row-table'>" in page and "input class='filter'" in page
    )
    assert page.count("id='every-row'") == 1  # the section's: the table has its own
    assert "id='row-uvicorn-hello-open-200rps'" in page
    # hello at 400 req/s, open model: uvicorn's p50 (0.435 ms) beats granian's (0.488).
    found = rows_of(load_run(run_dir).repeats, {})
    rows = {(r.server, r.step): r for r in found if r.app == "hello"}
    best = best_cells(list(rows.values()))
    assert (id(rows[("uvicorn", "open-400rps")]), "p50_ms") in best
    assert (id(rows[("granian", "open-400rps")]), "p50_ms") not in best
    # At 200 req/s granian's row is driver-limited: uvicorn stands alone, nothing is marked.
    assert rows[("granian", "open-200rps")].driver_bound
    alone = {id(rows[(server, "open-200rps")]) for server in ("uvicorn", "granian")}
    assert not [name for row_id, name in best if row_id in alone]
    assert "@media print{" in page and "size:A4 landscape" in page
