"""The mypyc-compiled middleware: when it loads, and that it counts what the Python one does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asgi_bench import envvars
from asgi_bench.apps import hello
from asgi_bench.collectors import compiled
from asgi_bench.config import RunConfig
from asgi_bench.run.build import prepare

# Requests of every kind the per-request path tells apart, through the middleware in a
# fresh interpreter; it prints the state reply's build and series (histograms left out:
# they hold real durations).
REQUESTS = """
import asyncio, json
from prometheus_client import CollectorRegistry
from asgi_bench.apps import hello, streaming
from asgi_bench.collectors.middleware import PrometheusMiddleware
from tests.asgi import call, http_scope, request

SENT = (
    (hello, [("GET", "/", b""), ("GET", "/", b""), ("GET", "/nope", b""), ("DELETE", "/", b"")]),
    (streaming, [("GET", "/chunked", b""), ("POST", "/upload", b"x" * 10)]),
)

async def main():
    for app, requests in SENT:
        mw = PrometheusMiddleware(app.app, server="s", app_name="a", routes=app.ROUTES,
                                  registry=CollectorRegistry())
        for method, path, body in requests:
            await call(mw, http_scope(path, method=method, query=b"chunks=3&size=10"),
                       [request(body)])
        state = json.loads((await call(mw, http_scope("/metrics/state"), [request()]))[1]["body"])
        print(json.dumps([state["middleware"], state["started"],
                          sorted([s["route"], s["method"], s["status"], s["count"],
                                  s["units_in"], s["units_out"]] for s in state["series"])]))

asyncio.run(main())
"""


def _served(pure: bool) -> list[list]:
    root = str(Path(__file__).resolve().parents[1])  # for tests.asgi
    env = {**os.environ, "PYTHONPATH": root, envvars.PURE_MIDDLEWARE: "1" if pure else "0"}
    done = subprocess.run(
        [sys.executable, "-c", REQUESTS], capture_output=True, text=True, env=env, check=True
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_compiled_middleware_counts_exactly_what_the_python_one_does():
    if compiled.problem():
        pytest.skip(f"nothing compiles here: {compiled.problem()}")
    compiled.build()  # scripts/install built it already; a changed source is built now
    python, native = _served(pure=True), _served(pure=False)
    assert [build for build, *_ in python] == ["python", "python"]
    assert [build for build, *_ in native] == ["mypyc", "mypyc"]
    assert [rest for _, *rest in native] == [rest for _, *rest in python]
    (hello_started, hello_series), (_, streamed) = python[0][1:], python[1][1:]
    assert hello_started == 4 and len(hello_series) == 3, hello_series  # /, /nope, DELETE /
    assert ["/", "GET", 200, 2, 0, 2 * len(hello.HELLO)] in hello_series
    assert ["/chunked", "GET", 200, 1, 0, 30] in streamed
    assert streamed[-1][:5] == ["/upload", "POST", 200, 1, 10]


def test_a_build_of_todays_sources_goes_first_on_the_package_path(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.CACHE, str(tmp_path))
    monkeypatch.delenv(envvars.PURE_MIDDLEWARE, raising=False)
    where = compiled.folder()
    assert where.parent == tmp_path / "mypyc"
    path = ["/src/collectors"]
    compiled.activate(path)
    assert path == ["/src/collectors"]  # nothing built yet
    where.mkdir(parents=True)
    (where / f"middleware{compiled.SUFFIX}").touch()
    compiled.activate(path)
    assert path == ["/src/collectors"]  # the shim without its library is no build
    (where / f"middleware__mypyc{compiled.SUFFIX}").touch()
    monkeypatch.setenv(envvars.PURE_MIDDLEWARE, "1")
    compiled.activate(path)
    assert path == ["/src/collectors"]  # asked for Python
    monkeypatch.delenv(envvars.PURE_MIDDLEWARE)
    compiled.activate(path)
    assert path == [str(where), "/src/collectors"]


def test_a_cache_that_cannot_be_written_is_a_reason_not_a_crash(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv(envvars.CACHE, str(blocked / "cache"))  # under a file: ENOTDIR
    monkeypatch.setattr(compiled, "problem", lambda: None)  # a compiler or not, the cache fails
    with pytest.raises(compiled.BuildError, match="Not a directory"):
        compiled.build()
    import asgi_bench.run.build as build

    monkeypatch.setattr(build, "build", compiled.build)
    found = prepare(RunConfig())
    assert found["build"] == "python" and "Not a directory" in (found["reason"] or "")


def test_a_changed_source_is_another_build(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.CACHE, str(tmp_path))
    source = tmp_path / "middleware.py"
    source.write_text("x = 1\n")
    monkeypatch.setattr(compiled, "sources", lambda: [source])
    before = compiled.folder()
    source.write_text("x = 2\n")
    assert compiled.folder() != before
    assert before.name.endswith(sys.implementation.cache_tag)


def test_without_a_compiler_the_build_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.CACHE, str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda _: None)
    with pytest.raises(compiled.BuildError, match=r"^no C compiler \(\S+\) on PATH$"):
        compiled.build()


@pytest.mark.parametrize(
    ("options", "build", "reason"),
    [
        ({"metrics": False}, None, "no middleware (--no-metrics)"),
        ({"pure_middleware": True}, "python", "--pure-middleware"),
        ({"targets": ("http://127.0.0.1:9",)}, None, "the targets' own"),
    ],
)
def test_run_json_says_which_build_the_servers_import(options, build, reason):
    found = prepare(RunConfig(**options))  # type: ignore[arg-type]
    assert found["build"] == build and (found["reason"] or "").startswith(reason)


def test_run_json_says_why_the_servers_run_python(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.CACHE, str(tmp_path))
    monkeypatch.setattr(compiled, "problem", lambda: "no C compiler (cc) on PATH")
    import asgi_bench.run.build as build

    monkeypatch.setattr(build, "build", compiled.build)
    assert prepare(RunConfig()) == {"build": "python", "reason": "no C compiler (cc) on PATH"}


def test_compare_refuses_runs_whose_servers_ran_different_builds():
    from types import SimpleNamespace

    from asgi_bench.results.repeat import Repeat
    from asgi_bench.verdict.comparison import _builds, refusal

    def run(*builds: str | None, metrics: bool = True) -> SimpleNamespace:
        repeats = [Repeat("uvicorn", "hello", "s", status="ok", middleware=b) for b in builds]
        return SimpleNamespace(
            damaged=[], manifest={"config": {"metrics": metrics}}, repeats=repeats
        )

    said = refusal(run("mypyc"), run("python"))  # type: ignore[arg-type]
    assert said == "the runs' servers ran different middleware builds: ['mypyc'] vs ['python']"
    assert refusal(run("mypyc"), run("mypyc", "mypyc")) is None  # type: ignore[arg-type]
    # Before servers said it they ran Python; a run without the middleware ran none.
    assert refusal(run(None), run("python")) is None  # type: ignore[arg-type]
    assert _builds(run(None, metrics=False)) == []  # type: ignore[arg-type]
