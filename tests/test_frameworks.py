"""Framework variants: hello, json, streaming and lifespan through Starlette and FastAPI on
real servers, a row per (server, framework, app), and the report's framework cost table."""

from __future__ import annotations

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.errors import UsageError
from asgi_bench.frameworks import FRAMEWORK_APPS, through_frameworks
from asgi_bench.report.frameworks import framework_table, groups
from asgi_bench.results.rows import Row
from asgi_bench.run.verify import verify
from asgi_bench.workloads import get_workload
from tests.constructed import open_row
from tests.e2e import only_run, rows, short_run
from tests.servers import installed, running


def test_each_app_goes_through_each_framework_that_has_it_in_order():
    chosen = (get_workload("hello"), get_workload("websocket"))
    names = [w.name for w in through_frameworks(chosen, ("raw", "fastapi"))]
    assert names == ["hello", "hello@fastapi", "websocket"]  # websocket has no variant
    variant = through_frameworks(chosen, ("starlette",))[0]
    assert (variant.app, variant.framework, variant.base) == (
        "asgi_bench.apps.starlette_apps:hello",
        "starlette",
        "hello",
    )
    assert variant.verify == chosen[0].verify  # the same answers, checked the same way


def test_a_bad_framework_or_one_no_app_has_is_one_line():
    with pytest.raises(UsageError, match=r"unknown --frameworks entry 'flask'; choose from: "):
        RunConfig(frameworks=("flask",)).load()
    with pytest.raises(UsageError, match="none of these apps has a framework version"):
        RunConfig(apps=("websocket",), frameworks=("fastapi",)).load()
    with pytest.raises(UsageError, match="not --app"):
        RunConfig(app="mypkg.mod:app", frameworks=("fastapi",)).load()


@pytest.mark.parametrize("server", installed(["uvicorn", "granian", "hypercorn"]))
@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_every_framework_app_answers_as_the_raw_one(server, framework, tmp_path):
    for workload in through_frameworks(
        tuple(get_workload(n) for n in FRAMEWORK_APPS), (framework,)
    ):
        with running(server, workload, tmp_path) as proc:
            verified, conforms = verify(workload, proc.base_url)
        assert verified.ok, (workload.name, verified.detail)
        if framework == "fastapi":  # its @app.get answers HEAD 405, as FastAPI does
            assert "HEAD /" in conforms.detail and "status 405" in conforms.detail, conforms
        else:
            assert conforms.ok, (workload.name, conforms.detail)


def test_a_run_gives_a_row_per_framework_and_the_report_prices_them(tmp_path):
    proc = short_run(
        tmp_path, "--servers", "uvicorn,granian", "--apps", "hello,json",
        "--frameworks", "raw,starlette,fastapi", "--rates", "200",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(tmp_path)
    found = {(r["server"], r["app"]): r for r in rows(run_dir)}
    assert set(found) == {
        (s, f"{a}{suffix}")
        for s in ("uvicorn", "granian")
        for a in ("hello", "json")
        for suffix in ("", "@starlette", "@fastapi")
    }
    for (server, app), row in found.items():
        assert row["status"] == "ok" and row["count_check"] == "ok", (server, app, row["reason"])
        assert row["framework"] == (app.partition("@")[2] or "raw")
    page = (run_dir / "report.html").read_text()
    assert "What a framework costs</h2>" in page and "added CPU µs/req" in page


def _row(app: str, cpu: float, rate: float = 300.0, **extra: object) -> Row:
    framework = app.partition("@")[2] or "raw"
    return open_row(
        "uvicorn", app, rate, framework=framework, p50_ms=0.5, cpu_us_per_request=cpu, **extra
    )


def test_the_framework_table_prices_each_variant_against_its_raw_row():
    # hello raw 140 µs, through starlette 203 (+63.0), fastapi 288 (+148.0); json's fastapi
    # row has no raw row to be priced against; a driver-limited variant is not the server's.
    rows = [
        _row("hello", 140.0),
        _row("hello@starlette", 203.0),
        _row("hello@fastapi", 288.0),
        _row("json@fastapi", 329.0),
        _row("json", 243.0, rate=1200.0),
        _row("hello@starlette", 190.0, rate=1200.0, bound="driver"),
    ]
    [(raw, variants)] = groups(rows)
    assert (raw.app, [v.app for v in variants]) == ("hello", ["hello@starlette", "hello@fastapi"])
    table = framework_table(rows)
    assert "<td>+63.0</td>" in table and "<td>+148.0</td>" in table
    assert "+0.0" not in table and table.count("<td>–</td>") == 1  # the raw row adds nothing
    assert framework_table(rows[3:]) == ""
