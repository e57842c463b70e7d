"""The pure side of --profile: collapsed stacks parsed, frames sorted into components, the
breakdown's figures, and the speedscope and SVG files, on constructed stacks whose expected
values are worked out by hand beside each test."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from asgi_bench.report import flamegraph
from asgi_bench.report.flamegraph import flamegraph_svg, write_speedscope
from asgi_bench.verdict.profile import (
    COMMON_RULES,
    COMPONENTS,
    Profile,
    Rule,
    breakdown,
    classify,
    difference,
    merge,
    parse_collapsed,
    rules_for_app,
    stdlib,
)

UVICORN = (Rule(r"\(uvicorn/protocols/", "protocol"), Rule(r"\(uvicorn/", "glue"))
RULES = (*UVICORN, *COMMON_RULES)
HELLO = "app (apps/hello.py:33)"
SEND = "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:522)"


def test_parsing_drops_process_and_thread_frames_and_sums_equal_stacks():
    # Two lines of one stack once the process frames (one command line holds "; ") and the
    # thread frame are dropped: 3 + 4 = 7. The process-only line is a stack with no frame.
    text = "\n".join(
        [
            'process 1:"python -c import a; a.run()";thread (0x7F01): MainThread;f (m.py:1) 3',
            'process 2:"python -m x";process 3:"y";f (m.py:1) 4',
            'process 1:"python -m granian" 5',
            "f (m.py:1);write (libc.so.6) 2",
            "",  # blank
            "f (m.py:1) lots",  # no count
            "f (m.py:1)",  # no count at all: "(m.py:1)" is not a number
            "7",  # a count with no stack
            "f (m.py:1) 0",  # nothing sampled
        ]
    )
    assert parse_collapsed(text) == {
        ("f (m.py:1)",): 7,
        (): 5,
        ("f (m.py:1)", "write (libc.so.6)"): 2,
    }


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        # The syscall wrapper at the leaf is the kernel's, though uvicorn called it.
        ((SEND, "write (libc.so.6)"), "kernel"),
        ((SEND, "__libc_sendmsg (libc.so.6)"), "kernel"),
        # The interpreter's work is the Python function it runs.
        ((HELLO, "unicode_decode_utf8 (libpython3.11.so.1.0)"), "app"),
        # uvloop's Cython, under an object.h inline that no rule names: walked past.
        (("run_forever (loop.c:33192)", "Py_DECREF (object.h:537)"), "loop"),
        (("uv_run (core.c:464)",), "loop"),
        (("task_step_impl (_asynciomodule.c:2704)",), "loop"),
        (("Runner.run (asyncio/runners.py:118)",), "loop"),
        # An unclaimed standard-library frame.
        ((HELLO, "WeakSet.add (_weakrefset.py:88)"), "stdlib"),
        ((HELLO, "format_date_time (wsgiref/handlers.py:20)"), "stdlib"),
        # The server's rule is met before the common "httptools" one would be.
        ((SEND,), "protocol"),
        (("ProxyHeadersMiddleware.__call__ (uvicorn/middleware/proxy_headers.py:63)",), "glue"),
        (("PrometheusMiddleware.__call__ (collectors/middleware.py:126)", SEND), "protocol"),
        (("x (h11/_util.py:87)",), "protocol"),
        # A generated __init__ (<string>) and a third-party frame are walked past to h11.
        (
            ("validate (h11/_util.py:87)", "f (click/core.py:1)", "__init__ (<string>:3)"),
            "protocol",
        ),
        # Nothing claims it: a Python leaf is unattributed, a native one (or none) native.
        (("main (click/core.py:1653)",), "unattributed"),
        (("main (click/core.py:1653)", "0x7f09d539c4cf (granian/_granian.so)"), "native"),
        (("???",), "native"),
        ((), "native"),
    ],
)
def test_classify(stack, expected):
    assert classify(stack, RULES) == expected


def test_a_server_rule_comes_before_a_common_one():
    # Common rules alone: "httptools" in the path makes it protocol; a server rule that
    # says otherwise, first in the list, wins.
    frame = ("RequestResponseCycle.run_asgi (uvicorn/protocols/http/httptools_impl.py:420)",)
    assert classify(frame, COMMON_RULES) == "protocol"
    assert classify(frame, (Rule(r"\.run_asgi \(uvicorn/", "glue"), *RULES)) == "glue"


def test_the_standard_library_is_known_by_its_top_module():
    assert stdlib("_run_code (<frozen runpy>:88)")
    assert stdlib("Sequence.__iter__ (<frozen _collections_abc>:993)")
    assert stdlib("inner (typing.py:362)")
    assert not stdlib("__init__ (<string>:3)")  # generated code, not the string module
    assert not stdlib("Config (hypercorn/config.py:9)")
    assert not stdlib("write (libc.so.6)")


def test_a_rule_names_a_known_component():
    with pytest.raises(ValueError, match="unknown component 'parser'"):
        Rule("x", "parser")


# 200 samples at 100 Hz, 1,000 requests: a sample is 10 ms, so n samples are
# n / 100 / 1000 * 1e6 = 10·n µs per request.
#   kernel: 100 -> share 0.50, 1,000 µs    app: 30 + 20 = 50 -> 0.25, 500 µs
#   loop: 40 -> 0.20, 400 µs               unattributed: 10 -> 0.05, 100 µs
STACKS: dict[tuple[str, ...], int] = {
    (HELLO, "write (libc.so.6)"): 100,
    ("main (click/core.py:1)", HELLO): 30,
    ("main (click/core.py:1)", "app (apps/hello.py:40)"): 20,
    ("Runner.run (asyncio/runners.py:118)",): 40,
    ("main (click/core.py:1)",): 10,
}


def test_breakdown_shares_and_us_per_request():
    p = breakdown(STACKS, RULES, rate_hz=100.0, seconds=2.0, requests=1000.0)
    assert p.samples == 200
    assert list(p.components) == [name for name, _ in COMPONENTS]  # every one, in order
    figures = {n: (c.samples, c.share, c.us_per_request) for n, c in p.components.items()}
    assert figures["kernel"] == pytest.approx((100, 0.5, 1000.0))
    assert figures["app"] == pytest.approx((50, 0.25, 500.0))
    assert figures["loop"] == pytest.approx((40, 0.2, 400.0))
    assert figures["unattributed"] == pytest.approx((10, 0.05, 100.0))
    assert figures["protocol"] == (0, 0.0, 0.0)
    assert p.gil_busy == 1.0  # 200 samples of 10 ms in 2 s: a thread held the GIL throughout


def test_without_requests_there_is_no_us_per_request():
    for requests in (None, 0.0):
        p = breakdown(STACKS, RULES, 100.0, 2.0, requests)
        assert all(c.us_per_request is None for c in p.components.values())


def test_top_functions_add_up_the_lines_of_one_function():
    # app's lines 33 and 40: 30 + 20 = 50 samples, a quarter of 200.
    top = breakdown(STACKS, RULES, 100.0, 2.0, 1000.0).top
    assert [(t.function, t.component, t.samples, t.share) for t in top] == [
        ("write (libc.so.6)", "kernel", 100, 0.5),
        ("app (apps/hello.py)", "app", 50, 0.25),
        ("Runner.run (asyncio/runners.py)", "loop", 40, 0.2),
        ("main (click/core.py)", "unattributed", 10, 0.05),
    ]
    assert len(breakdown(STACKS, RULES, 100.0, 2.0, 1000.0, top=2).top) == 2


def test_to_dict_has_the_documented_shape_and_reads_back():
    p = breakdown(STACKS, RULES, 100.0, 2.0, 1000.0)
    data = json.loads(json.dumps(p.to_dict()))
    assert set(data) == {"samples", "rate_hz", "seconds", "requests", "components", "top"}
    assert data["components"]["app"] == {"samples": 50, "share": 0.25, "us_per_request": 500.0}
    assert data["top"][0] == {
        "function": "write (libc.so.6)",
        "component": "kernel",
        "samples": 100,
        "share": 0.5,
    }
    assert Profile.from_dict(data) == p
    assert Profile.from_dict(data | {"target": "server"}) == p  # what run/profiles.py adds
    without = breakdown(STACKS, RULES, 100.0, 2.0, None)
    assert Profile.from_dict(without.to_dict()) == without


def test_merge_sums_the_windows():
    # Two equal windows: twice the samples, seconds and requests, the same shares and µs.
    one = breakdown(STACKS, RULES, 100.0, 2.0, 1000.0)
    both = merge([one, one])
    assert (both.samples, both.seconds, both.requests) == (400, 4.0, 2000.0)
    assert both.components["app"].share == 0.25
    assert both.components["app"].us_per_request == pytest.approx(500.0)
    assert both.top[0].samples == 200 and both.top[0].share == 0.5
    assert merge([one, breakdown(STACKS, RULES, 100.0, 2.0, None)]).requests is None


def test_difference_is_us_per_request_side_by_side():
    a = breakdown(STACKS, RULES, 100.0, 2.0, 1000.0)
    b = breakdown(STACKS, RULES, 100.0, 2.0, 2000.0)  # twice the requests: half the µs
    rows = difference(a, b)
    assert [name for name, _, _ in rows] == [name for name, _ in COMPONENTS]
    assert dict((n, (x, y)) for n, x, y in rows)["app"] == pytest.approx((500.0, 250.0))


def test_the_users_app_is_its_package_or_its_module():
    (package,) = rules_for_app("tests.burnapp:app")
    assert classify(("burn (tests/burnapp.py:8)",), (package,)) == "app"
    assert classify(("x (mytests/a.py:1)",), (package,)) == "unattributed"
    (module,) = rules_for_app("burnapp:app")
    assert (
        classify(("burn (burnapp.py:8)", "time_perf_counter_ns (libpython3.11.so.1.0)"), (module,))
        == "app"
    )
    assert classify(("burn (burnapp2.py:8)",), (module,)) == "unattributed"
    assert rules_for_app("asgi_bench.apps.hello:app") == ()


def test_speedscope_frames_and_samples(tmp_path):
    # Frames numbered as first met: a 0, b 1, c 2; the samples are those indices, root first.
    stacks: dict[tuple[str, ...], int] = {
        ("a (m.py:1)", "b (m.py:2)"): 3,
        ("a (m.py:1)", "c (m.py:3)"): 1,
    }
    path = tmp_path / "profile.speedscope.json"
    write_speedscope(stacks, path, "uvicorn hello")
    data = json.loads(path.read_text())
    assert data["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert data["shared"]["frames"] == [
        {"name": "a (m.py:1)"},
        {"name": "b (m.py:2)"},
        {"name": "c (m.py:3)"},
    ]
    (only,) = data["profiles"]
    assert only["type"] == "sampled" and only["name"] == "uvicorn hello"
    assert (only["startValue"], only["endValue"]) == (0, 4)
    assert only["samples"] == [[0, 1], [0, 2]]
    assert only["weights"] == [3, 1]


def test_the_svg_parses_and_its_widest_frame_is_the_root():
    # 2,000 samples: "tiny" has 1 (0.05%, under 0.1%) and is left out; the names need escaping.
    stacks: dict[tuple[str, ...], int] = {
        ("<module> (a&b.py:1)", "write (libc.so.6)"): 1500,
        ("<module> (a&b.py:1)", HELLO): 499,
        ("<module> (a&b.py:1)", "tiny (m.py:1)"): 1,
    }
    bars = _bars(flamegraph_svg(stacks, "uvicorn <hello> & co"))
    assert max(bars)[1] == "all (2000 samples, 100.0%)"
    titles = [title for _, title, _ in bars]
    assert "write (libc.so.6) (1500 samples, 75.0%)" in titles
    assert not any(title.startswith("tiny") for title in titles)
    colours = {title.split(" (")[0]: fill for _, title, fill in bars}
    assert colours["write"] == flamegraph.COLOURS["kernel"]
    assert colours["app"] == flamegraph.COLOURS["app"]


def _bars(svg: str) -> list[tuple[float, str, str]]:
    """(width, title, colour) of each frame of a flame graph, as an XML parser reads it."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = []
    for g in ET.fromstring(svg).iterfind("s:g", ns):
        rect = g.find("s:rect", ns)
        assert rect is not None
        bars.append(
            (float(rect.get("width", "")), g.findtext("s:title", "", ns), rect.get("fill", ""))
        )
    return bars


def test_analyse_divides_by_the_requests_of_the_profiles_own_span(tmp_path):
    # py-spy ran from 1 s before a 4 s window to its end: a 5 s span. The server completed
    # 1,200 requests in the window, so about 1,200 x 5 / 4 = 1,500 in the span. 130 samples
    # at 100 Hz in burn: 130 / 100 / 1,500 x 1e6 = 866.67 µs per request, where dividing by
    # the window's requests alone would read 1,083.33.
    import json as json_module

    from asgi_bench.results.layout import RepeatLayout
    from asgi_bench.results.repeat import Repeat
    from asgi_bench.run.profiles import analyse
    from tests.fakes import job

    where = RepeatLayout(tmp_path)
    where.profile_raw.write_text("burn (burnapp.py:7) 130\nwrite (libc.so.6) 20\n")
    where.profile_span.write_text(json_module.dumps({"start": 99.0, "end": 104.0}))
    repeat = Repeat("uvicorn", "burnapp", "open-300rps", status="ok")
    repeat.window, repeat.window_s, repeat.server_ok_window = [100.0, 104.0], 4.0, 1200
    analyse(job(app="hello"), where, repeat, "server")
    assert repeat.profile is not None, repeat.notes
    assert repeat.profile["seconds"] == 5.0 and repeat.profile["requests"] == 1500.0
    kernel = repeat.profile["components"]["kernel"]
    assert kernel["us_per_request"] == pytest.approx(20 / 100 / 1500 * 1e6)  # 133.33
    burnt = sum(t["samples"] for t in repeat.profile["top"] if t["function"].startswith("burn"))
    assert burnt / 100 / 1500 * 1e6 == pytest.approx(866.67, abs=0.01)
    assert where.flamegraph.exists() and where.speedscope.exists()
    assert not repeat.notes  # attached before the window: nothing to say


def test_analyse_keeps_the_figures_when_the_profile_is_damaged(tmp_path):
    from asgi_bench.results.layout import RepeatLayout
    from asgi_bench.results.repeat import Repeat
    from asgi_bench.run.profiles import analyse
    from tests.fakes import job

    where = RepeatLayout(tmp_path)
    where.profile_raw.write_text("a (apps/hello.py:1) 3\n")  # and no span file
    repeat = Repeat("uvicorn", "hello", "open-300rps", status="ok", rps=300.0)
    repeat.window, repeat.window_s, repeat.server_ok_window = [100.0, 104.0], 4.0, 1200
    analyse(job(), where, repeat, "server")
    assert repeat.profile is None and repeat.rps == 300.0
    assert repeat.notes and repeat.notes[0].startswith("--profile: not analysed (")


# --- --profile under compose: the checks before any load ---------------------------------


def _compose(monkeypatch, containers: dict[str, str | None], caps: dict[str, set[str]]) -> None:
    from asgi_bench.run import docker

    monkeypatch.setattr(docker, "find_container", containers.get)
    monkeypatch.setattr(docker, "capabilities", lambda container: caps[container])


def test_compose_profile_needs_every_target_container_with_ptrace(monkeypatch):
    from asgi_bench.run.container_profile import container_problem

    _compose(monkeypatch, {"uvicorn": "c1", "granian": "c2"}, {"c1": {"SYS_PTRACE"}, "c2": set()})
    problem = container_problem(["uvicorn", "granian"])
    assert problem is not None and "'granian' lacks SYS_PTRACE" in problem
    assert "docker-compose.profile.yml" in problem
    assert container_problem(["uvicorn"]) is None
    _compose(monkeypatch, {"uvicorn": None}, {})
    assert "no running container of service 'uvicorn'" in (container_problem(["uvicorn"]) or "")


def test_compose_profile_without_the_docker_api_is_one_line(monkeypatch):
    from asgi_bench.run import docker
    from asgi_bench.run.container_profile import container_problem

    def refuse(name: str) -> str:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(docker, "find_container", refuse)
    problem = container_problem(["uvicorn"]) or ""
    assert problem.startswith("--profile server with --targets needs the Docker API")
    assert "\n" not in problem


def test_a_containers_folder_comes_back_by_file_name(monkeypatch):
    """The archive the Docker API sends for a folder: the folder itself and its files."""
    import io
    import tarfile

    from asgi_bench.run import docker

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo("asgi-bench-profile-1")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for name, data in (("profile.txt", b"a;b 3\n"), ("log", b"Samples: 3\n")):
            info = tarfile.TarInfo(f"asgi-bench-profile-1/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(docker, "docker_request", lambda *a, **k: buffer.getvalue())
    files = docker.container_files("c1", "/tmp/asgi-bench-profile-1")
    assert files == {"profile.txt": b"a;b 3\n", "log": b"Samples: 3\n"}
