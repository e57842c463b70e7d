"""Which build of the middleware a run's own servers import, compiled where it can be.

The servers import :mod:`asgi_bench.collectors.middleware` from the build
:mod:`asgi_bench.collectors.compiled` made for today's sources; building it here, before
the first server starts, spares every server the wait and puts the reason it could not be
built in run.json. Servers the run does not start (``--targets``) report their own build in
each repeat's ``middleware`` field.
"""

from __future__ import annotations

from typing import TypedDict

from asgi_bench.collectors.compiled import COMPILED, PYTHON, BuildError, build
from asgi_bench.config import RunConfig


class MiddlewareBuild(TypedDict):
    """run.json's ``middleware``: ``build`` is mypyc, python or None (no middleware of ours
    served); ``reason`` says why it is not mypyc."""

    build: str | None
    reason: str | None


def prepare(config: RunConfig) -> MiddlewareBuild:
    """The build this run's servers import, and why not mypyc."""
    if not config.metrics and not config.paired:
        return {"build": None, "reason": "no middleware (--no-metrics)"}
    if config.targets:
        return {"build": None, "reason": "the targets' own: each repeat's middleware field"}
    if config.pure_middleware:
        return {"build": PYTHON, "reason": "--pure-middleware"}
    try:
        build()
    except BuildError as exc:
        return {"build": PYTHON, "reason": str(exc)}
    return {"build": COMPILED, "reason": None}
