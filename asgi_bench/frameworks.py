"""Frameworks the built-in apps are also written in (``--frameworks``): hello, json,
streaming and lifespan through Starlette and FastAPI, the same routes and answers, so a row
is (server, framework, app) and the report prices each framework on each server.

To add one, write its apps in one module of ``apps/`` (one ASGI app per workload, by the
workload's name) and add one entry to :data:`FRAMEWORKS`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace

from asgi_bench.errors import UsageError
from asgi_bench.workloads import Workload


@dataclass(frozen=True)
class Framework:
    """A framework the framework variants are written in: ``module`` has one ASGI app per
    workload it covers, by the workload's name (``asgi_bench.apps.starlette_apps:hello``)."""

    name: str
    module: str
    requires: str  # the distribution it needs; not installed: its rows are unsupported
    install_hint: str


_EXTRA = "pip install -e '.[frameworks]' (starlette, fastapi)"
# --frameworks: raw is the apps themselves; to add one, write its apps in one module of
# apps/ and add one entry here.
FRAMEWORKS = {
    f.name: f
    for f in (
        Framework("raw", "", "", ""),
        Framework(
            "starlette", "asgi_bench.apps.starlette_apps", "starlette", "pip install starlette"
        ),
        Framework("fastapi", "asgi_bench.apps.fastapi_apps", "fastapi", "pip install fastapi"),
    )
}
FRAMEWORK_APPS = ("hello", "json", "streaming", "lifespan")  # what each framework has


def with_framework(workload: Workload, framework: str) -> Workload:
    """``workload`` served through ``framework``: the same Locust file, checks and ladder.

    >>> from asgi_bench.workloads import get_workload
    >>> with_framework(get_workload("json"), "fastapi").app
    'asgi_bench.apps.fastapi_apps:json'
    """
    if framework == "raw":
        return workload
    module = FRAMEWORKS[framework].module
    return replace(
        workload,
        name=f"{workload.name}@{framework}",
        app=f"{module}:{workload.name}",
        framework=framework,
        description=f"{workload.description} ({framework})",
    )


def framework_missing(workload: Workload) -> str | None:
    """Why ``workload``'s framework cannot be imported here, or None."""
    framework = FRAMEWORKS[workload.framework]
    if framework.requires and importlib.util.find_spec(framework.requires) is None:
        return f"{framework.name} is not installed: {framework.install_hint}"
    return None


def through_frameworks(
    workloads: tuple[Workload, ...], frameworks: tuple[str, ...]
) -> tuple[Workload, ...]:
    """Each workload through each framework that has it (raw: every workload), in order."""
    for name in frameworks:
        if name not in FRAMEWORKS:
            raise UsageError(
                f"unknown --frameworks entry {name!r}; choose from: {', '.join(FRAMEWORKS)}"
            )
    variants = tuple(
        with_framework(w, f)
        for w in workloads
        for f in frameworks
        if f == "raw" or w.name in FRAMEWORK_APPS
    )
    if not variants:
        raise UsageError(
            f"--frameworks {','.join(frameworks)}: none of these apps has a framework "
            f"version; {', '.join(FRAMEWORK_APPS)} do"
        )
    return variants
