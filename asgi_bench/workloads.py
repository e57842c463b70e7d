"""The workload table: name -> the ASGI app it serves and the Locust file that drives it.

A workload is what ``--apps`` names. To add one, write the app in ``apps/``, its Locust file
in ``loadtests/`` and add one entry here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path

import asgi_bench.loadtests as loadtests
from asgi_bench.apps import db, headers, hello, jsonapi, large, lifespan, streaming
from asgi_bench.errors import UsageError
from asgi_bench.expect import Expect
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
    # The GET a native tool (wrk, h2load) sends for the calibration peak, when the workload is one
    # plain GET with no body to check (the tool checks statuses only); None: no native peak.
    native_path: str | None = None
    # Its Locust users speak HTTP/2 for an HTTP/2 step (loadtests/client.py); the WebSocket
    # users' client is HTTP/1.1 only (WebSocket over HTTP/2 is RFC 8441, rarely served).
    http2: bool = False
    # What its answers must be, checked before any load (asgi_bench.run.verify); a user's
    # own app has none.
    verify: tuple[Expect, ...] = ()
    database: bool = False  # it queries the run's PostgreSQL (asgi_bench/run/database.py)
    framework: str = "raw"  # the same routes through a framework (asgi_bench/frameworks.py)

    @property
    def base(self) -> str:
        """The workload a framework variant is of: ``hello`` for ``hello@starlette``."""
        return base_name(self.name)

    @property
    def mount(self) -> str:
        """Where apps.combined serves this workload's app: ``/hello``, ``/streaming`` ..."""
        return "/" + self.app.partition(":")[0].rsplit(".", 1)[-1]


def base_name(name: str) -> str:
    """The workload a (framework variant's) name is of: a variant is ``APP@FRAMEWORK``.

    >>> base_name("json@fastapi"), base_name("json")
    ('json', 'json')
    """
    return name.partition("@")[0]


def _builtin(
    name: str, app: str, description: str, locustfile: str = "", **kwargs: object
) -> Workload:
    path = LOADTESTS_DIR / (locustfile or f"{name}.py")
    return Workload(name, f"asgi_bench.apps.{app}", path, description, **kwargs)  # type: ignore[arg-type]


# The verify step's expected answers, the same requests the Locust files send.
_LIFESPAN_STATE = (("items", lifespan.ITEMS), ("checksum", lifespan.EXPECTED_CHECKSUM))
_CHUNKED = b"".join(streaming.chunk_payload(i, 1024) for i in range(100))
_SSE_PATH = "/sse?events=10&interval_ms=5"
_SSE = b"".join(streaming.sse_event(i) for i in range(10))
UPLOAD_LARGE_BYTES = 20 << 20


@cache
def _upload(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


@cache
def _uploaded(size: int) -> bytes:
    """What the streaming app answers to an upload of :func:`_upload`'s bytes."""
    digest = hashlib.sha256(_upload(size)).hexdigest()
    return b'{"bytes": %d, "sha256": "%s"}' % (size, digest.encode())


def _verify_upload(size: int) -> tuple[Expect, ...]:
    body, answer = partial(_upload, size), partial(_uploaded, size)
    return (Expect("/upload", "application/json", answer, method="POST", send=body),)


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
            verify=(Expect("/", "text/html", hello.HELLO),),
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
            verify=(Expect("/chunked", "application/octet-stream", _CHUNKED, framing="chunked"),),
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
            verify=(Expect(_SSE_PATH, "text/event-stream", _SSE, framing="chunked"),),
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
            # The state's content, wherever it came from: whether startup ran is the
            # lifespan_startup probe's to say (daphne has none: unsupported, not failed).
            verify=(Expect("/", "application/json", fields=_LIFESPAN_STATE),),
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
            verify=(Expect("/", "text/plain", b"websocket echo: connect to /ws"),),
            rates=(1200.0,),
        ),
        _builtin(
            "upload",
            "streaming:app",
            "POST 256 KiB, checked byte count and SHA-256",
            user="UploadUser",
            open_user="UploadOpen",
            http2=True,
            verify=_verify_upload(256 << 10),
            rates=(100.0, 400.0),
            slo="p99<50ms,errors<0.1%",
        ),
        _builtin(
            "upload-large",
            "streaming:app",
            "POST 20 MiB, streamed to the app, which hashes it; byte count and SHA-256 checked",
            locustfile="upload_large.py",
            user="UploadLargeUser",
            open_user="UploadLargeOpen",
            http2=True,
            rates=(10.0,),
            slo="p99<1000ms,errors<0.1%",
            verify=_verify_upload(UPLOAD_LARGE_BYTES),
        ),
        _builtin(
            "sleep",
            "hello:app",
            "known latency: GET /sleep?ms=20",
            user="SleepUser",
            open_user="SleepOpen",
            http2=True,
            verify=(Expect("/sleep?ms=20", "text/plain", b"slept 20"),),
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
            rates=(1200.0,),  # one step: the quick run's ten minutes hold eight configs of it
            verify=(Expect("/", "application/json", jsonapi.body()),),
        ),
        _builtin(
            "headers",
            "headers:app",
            "20 request headers with a 1 KB cookie, 10 response headers, checked both ways",
            user="HeadersUser",
            open_user="HeadersOpen",
            ready_path="/ready",  # / answers 400 to a request without the headers
            verify=(
                Expect(
                    "/",
                    "text/plain",
                    headers.BODY,
                    headers=headers.REQUEST_HEADERS,
                    answer_headers=headers.RESPONSE_HEADERS,
                ),
            ),
        ),
        _builtin(
            "db",
            "db:app",
            "one query a request on a real PostgreSQL through asyncpg (TechEmpower's single query)",
            user="DbUser",
            open_user="DbOpen",
            database=True,
            http2=True,
            rates=(300.0,),
            slo="p99<20ms,errors<0.1%",
            verify=(Expect("/?id=1", "application/json", db.answer(1, db.random_number(1))),),
        ),
        _builtin(
            "large",
            "large:app",
            "1 MiB answered in one body from memory, checked byte for byte",
            user="LargeUser",
            open_user="LargeOpen",
            http2=True,
            rates=(200.0,),
            slo="p99<50ms,errors<0.1%",
            verify=(Expect("/", "application/octet-stream", large.PAYLOAD),),
        ),
        _builtin(
            "large-file",
            "large:app",
            "the same 1 MiB as a file, by ASGI's http.response.pathsend where the server offers it",
            locustfile="large.py",
            user="LargeFileUser",
            open_user="LargeFileOpen",
            probes=("pathsend",),  # a server that does not offer it gets no load: unsupported
            http2=True,
            rates=(200.0,),
            slo="p99<50ms,errors<0.1%",
            verify=(Expect("/file", "application/octet-stream", large.PAYLOAD),),
        ),
    )
}

# headers would take the quick run past nine minutes here; it, and the rest, are opt-in.
QUICK = ("hello", "streaming", "sse", "lifespan", "websocket", "json")


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
