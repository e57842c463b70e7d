"""The workload table: name -> the ASGI app it serves and the Locust file that drives it.

A workload is what ``--apps`` names. To add one, write the app in ``apps/``, its Locust file
in ``loadtests/`` and add one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import asgi_bench.loadtests as loadtests
from asgi_bench.errors import UsageError
from asgi_bench.system.importer import split_import_string

LOADTESTS_DIR = Path(loadtests.__file__).parent


@dataclass(frozen=True)
class Workload:
    name: str
    app: str  # import string, ``module:attribute``
    locustfile: Path
    description: str
    # The Locust user class for closed-loop steps; None runs every class in the file.
    user: str | None = None
    open_user: str | None = None  # ... for open-model steps; None: closed loop only
    needs: frozenset[str] = frozenset()  # server capabilities, see asgi_bench.servers.base
    # What the server-side count is compared with: HTTP requests or WebSocket messages.
    count_unit: str = "requests"
    probes: tuple[str, ...] = ()  # capability probes run before the load (run/capabilities.py)
    ready_path: str = "/"  # answers 200 once the app is up
    note: str = ""  # what a reader must know to read this workload's latency
    # The quick run's ladder (and where a capacity search starts). Two rates for hello, whose
    # latency-against-rate line the report draws; one for the others, so that eight server
    # configs fit the quick run's ten minutes on two cores.
    rates: tuple[float, ...] = field(default=(300.0, 1200.0))
    peak: bool = False  # the quick run also measures its closed-loop peak throughput
    slo: str = "p99<10ms,errors<0.1%"  # what --rates auto searches against by default
    # The GET a native tool (wrk) sends for the calibration peak, when the workload is one
    # plain GET with no body to check (the tool checks statuses only); None: no native peak.
    native_path: str | None = None
    # Its Locust users speak HTTP/2 for an HTTP/2 step (loadtests/client.py); the WebSocket
    # users' client is HTTP/1.1 only (WebSocket over HTTP/2 is RFC 8441, rarely served).
    http2: bool = False

    @property
    def mount(self) -> str:
        """Where apps.combined serves this workload's app: ``/hello``, ``/streaming`` ..."""
        return "/" + self.app.partition(":")[0].rsplit(".", 1)[-1]


def _builtin(
    name: str, app: str, description: str, locustfile: str = "", **kwargs: object
) -> Workload:
    path = LOADTESTS_DIR / (locustfile or f"{name}.py")
    return Workload(name, f"asgi_bench.apps.{app}", path, description, **kwargs)  # type: ignore[arg-type]


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        _builtin(
            "hello",
            "hello:app",
            "Hello World, GET /",
            user="HelloUser",
            open_user="HelloOpen",
            peak=True,
            native_path="/",
            http2=True,
        ),
        _builtin(
            "streaming",
            "streaming:app",
            "chunked body, 100 x 1 KiB; TTFB, first chunk and full body timed",
            user="ChunkedUser",
            open_user="ChunkedOpen",
            probes=("streaming",),
            rates=(400.0,),
            http2=True,
            slo="p99<50ms,errors<0.1%",
        ),
        _builtin(
            "sse",
            "streaming:app",
            "Server-Sent Events, 10 events 5 ms apart; TTFB, first event and full stream timed",
            user="SseUser",
            open_user="SseOpen",
            probes=("sse",),
            note="latency is dominated by the app's own 45 ms of event intervals",
            rates=(400.0,),
            http2=True,
            slo="p99<100ms,errors<0.1%",
        ),
        _builtin(
            "lifespan",
            "lifespan:app",
            "state built at startup, read per request",
            user="LifespanUser",
            open_user="LifespanOpen",
            needs=frozenset({"lifespan"}),
            probes=("lifespan_startup",),
            http2=True,
            rates=(1200.0,),
        ),
        _builtin(
            "websocket",
            "websocket:app",
            "WebSocket echo round trips",
            # Not websocket.py: that name would shadow the websocket-client library.
            locustfile="ws_echo.py",
            user="WebSocketUser",
            open_user="WebSocketOpen",
            needs=frozenset({"websocket"}),
            count_unit="ws_messages",
            probes=("websocket",),
            rates=(1200.0,),
        ),
        _builtin(
            "upload",
            "streaming:app",
            "POST 256 KiB, checked byte count and SHA-256",
            user="UploadUser",
            open_user="UploadOpen",
            http2=True,
            rates=(100.0, 400.0),
            slo="p99<50ms,errors<0.1%",
        ),
        _builtin(
            "sleep",
            "hello:app",
            "known latency: GET /sleep?ms=20",
            user="SleepUser",
            open_user="SleepOpen",
            http2=True,
            rates=(100.0, 400.0),
            slo="p99<40ms,errors<0.1%",
        ),
        _builtin(
            "json",
            "jsonapi:app",
            "JSON, GET /: a 1.3 KB page of an API serialised per request, checked byte for byte",
            locustfile="jsonapi.py",
            user="JsonUser",
            open_user="JsonOpen",
            native_path="/",
            http2=True,
        ),
        _builtin(
            "headers",
            "headers:app",
            "20 request headers with a 1 KB cookie, 10 response headers, checked both ways",
            user="HeadersUser",
            open_user="HeadersOpen",
            ready_path="/ready",  # / answers 400 to a request without the headers
        ),
    )
}

QUICK = ("hello", "streaming", "sse", "lifespan", "websocket")


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
    user="HelloUser",
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
    try:
        module, _ = split_import_string(app)
    except UsageError:
        raise UsageError(f"bad --app {app!r}; expected 'package.module:attribute'") from None
    if locustfile is None:
        default = LOADTESTS_DIR / "default.py"
        name = module.rsplit(".", 1)[-1]
        return Workload(name, app, default, f"user app {app}", "DefaultUser", "DefaultOpen")
    path = Path(locustfile)
    if not path.is_file():
        raise UsageError(f"--locustfile {str(path)!r} does not exist")
    return replace(
        Workload(module.rsplit(".", 1)[-1], app, path.resolve(), f"user app {app}"),
        description=f"user app {app}, Locust file {path.name}",
    )
