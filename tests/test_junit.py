"""``run --junit``: what a CI system reads, from constructed rows."""

from __future__ import annotations

from xml.etree import ElementTree

from asgi_bench.results.junit import junit_xml
from asgi_bench.results.rows import Row


def row(server: str, status: str, reason: str = "", slo_pass: bool | None = None) -> Row:
    found = Row(server, "hello", "open@300", "open", None, 300.0, status, reason, 1, 1)  # type: ignore[arg-type]
    found.slo, found.slo_pass, found.slo_detail = "p99<1ms", slo_pass, "p99 2.0 ms"
    return found


def test_every_row_is_a_case_passed_failed_or_skipped():
    rows = [
        row("uvicorn", "ok", slo_pass=True),
        row("granian", "ok", slo_pass=False),  # measured, and missed its objective
        row("daphne", "failed", "daphne exited with code 1"),
        row("uvicorn-h11", "unsupported", "uvicorn-h11 does not speak h2c"),
    ]
    suite = ElementTree.fromstring(junit_xml(rows, "run-1")).find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "asgi-bench run-1",
        "4",
        "2",
        "1",
    )
    cases = {case.get("classname"): case for case in suite.iter("testcase")}
    assert list(cases["uvicorn.hello"]) == []  # passed
    assert cases["granian.hello"][0].get("message") == "SLO p99<1ms missed: p99 2.0 ms"
    assert cases["daphne.hello"][0].tag == "failure"
    assert cases["daphne.hello"][0].get("message") == "daphne exited with code 1"
    assert cases["uvicorn-h11.hello"][0].tag == "skipped"
    assert all(case.get("name") == "open@300" for case in cases.values())
