"""The examples in the docstrings are true: every module that shows one is run here."""

from __future__ import annotations

import doctest
import importlib

import pytest

# Modules whose docstrings hold examples (``>>>``); the Locust-side ones that import Locust
# (gevent's monkey-patching) stay out of this process.
MODULES = [
    "asgi_bench.apps.db",
    "asgi_bench.cli",
    "asgi_bench.collectors.store",
    "asgi_bench.commands.driver_check",
    "asgi_bench.commands.overhead",
    "asgi_bench.commands.profile",
    "asgi_bench.commands.serve",
    "asgi_bench.load.http",
    "asgi_bench.load.native.figures",
    "asgi_bench.load.native.h2load",
    "asgi_bench.report.charts._hover",
    "asgi_bench.report.frameworks",
    "asgi_bench.report.interactive",
    "asgi_bench.loadtests.panel_figures",
    "asgi_bench.report.protocols",
    "asgi_bench.results.junit",
    "asgi_bench.results.rows",
    "asgi_bench.run.database",
    "asgi_bench.run.profiler",
    "asgi_bench.run.search",
    "asgi_bench.system.importer",
    "asgi_bench.verdict.judge",
    "asgi_bench.verdict.limits",
    "asgi_bench.frameworks",
    "asgi_bench.verdict.slo",
    "asgi_bench.verdict.profile",
    "asgi_bench.verdict.profile_diff",
    "asgi_bench.report.flamegraph",
]


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_the_docstrings_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} shows no example: drop it from the list"
    assert result.failed == 0
