"""The workload table: name -> the ASGI app it serves and the Locust file that drives it.

A workload is what ``--apps`` names. To add one, write the app in ``apps/``, its Locust file
in ``loadtests/`` and add one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asgi_bench.loadtests as loadtests
from asgi_bench.errors import UsageError

LOADTESTS_DIR = Path(loadtests.__file__).parent


@dataclass(frozen=True)
class Workload:
    name: str
    app: str  # import string, ``module:attribute``
    locustfile: Path
    description: str
    needs: frozenset[str] = frozenset()  # server capabilities, see asgi_bench.servers.base
    # What the server-side count is compared with: HTTP requests or WebSocket messages.
    count_unit: str = "requests"
    probes: tuple[str, ...] = ()  # capability probes run before the load, see probes.py
    ready_path: str = "/"  # answers 200 once the app is up

    @property
    def mount(self) -> str:
        """Where apps.combined serves this workload's app: ``/hello``, ``/streaming`` ..."""
        return "/" + self.app.partition(":")[0].rsplit(".", 1)[-1]


def _builtin(
    name: str, app: str, description: str, locustfile: str = "", **kwargs: object
) -> Workload:
    path = LOADTESTS_DIR / (locustfile or f"{name}.py")
    return Workload(name, app, path, description, **kwargs)  # type: ignore[arg-type]


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        _builtin("hello", "asgi_bench.apps.hello:app", "Hello World, GET /"),
        _builtin(
            "streaming",
            "asgi_bench.apps.streaming:app",
            "chunked body and SSE, timed TTFB / first chunk / full body",
            probes=("streaming", "sse"),
        ),
        _builtin(
            "lifespan",
            "asgi_bench.apps.lifespan:app",
            "state built at startup, read per request",
            needs=frozenset({"lifespan"}),
            probes=("lifespan_startup",),
        ),
        _builtin(
            "websocket",
            "asgi_bench.apps.websocket:app",
            "WebSocket echo round trips",
            # Not websocket.py: that name would shadow the websocket-client library.
            locustfile="ws_echo.py",
            needs=frozenset({"websocket"}),
            count_unit="ws_messages",
            probes=("websocket",),
        ),
        _builtin(
            "upload",
            "asgi_bench.apps.streaming:app",
            "POST 256 KiB, checked byte count and SHA-256",
        ),
        _builtin("sleep", "asgi_bench.apps.hello:app", "known latency: GET /sleep?ms=20"),
    )
}

QUICK = ("hello", "streaming", "lifespan", "websocket")


def get_workload(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise UsageError(f"unknown app {name!r}; choose from: {', '.join(WORKLOADS)}") from None


# Not a matrix cell: what ``asgi-bench serve SERVER all`` serves, as the containers do.
ALL_APPS = Workload(
    "all",
    "asgi_bench.apps.combined:app",
    LOADTESTS_DIR / "hello.py",
    "every app under its own prefix",
    ready_path="/hello/",
)


def serve_workload(name: str) -> Workload:
    """A workload name, or ``all`` for every app mounted under its prefix."""
    if name == ALL_APPS.name:
        return ALL_APPS
    try:
        return get_workload(name)
    except UsageError:
        raise UsageError(
            f"unknown app {name!r}; choose from: {', '.join([*WORKLOADS, ALL_APPS.name])}"
        ) from None


def custom_workload(app: str, locustfile: str | None) -> Workload:
    """The user's own app, ``mypkg.module:app``, with their Locust file or the default one."""
    module, sep, attribute = app.partition(":")
    if not sep or not module or not attribute:
        raise UsageError(f"bad --app {app!r}; expected 'package.module:attribute'")
    path = Path(locustfile) if locustfile else LOADTESTS_DIR / "default.py"
    if not path.is_file():
        raise UsageError(f"--locustfile {str(path)!r} does not exist")
    return Workload(module.rsplit(".", 1)[-1], app, path.resolve(), f"user app {app}")
