"""Capability probes: what a server was *observed* to do, checked once per cell before load.

Each probe is one function in ``PROBES``; the capability table in the report is built from
their observations (plus lifespan shutdown, observed after the server stops, and TLS).
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import websocket

from asgi_bench.apps.streaming import chunk_payload, sse_event
from asgi_bench.system.http import get
from asgi_bench.system.http2 import http2_get

CAPABILITY_NAMES = (
    "lifespan_startup",
    "lifespan_shutdown",
    "streaming",
    "sse",
    "websocket",
    "tls",
    "h2",
    "h2c",
    "pathsend",
    "verified",  # the verify step (asgi_bench.run.verify): the load's answers as expected
    "conforms",  # ... and HEAD without a body, 404 for a path the app does not serve
)


@dataclass(frozen=True)
class Observation:
    capability: str
    ok: bool
    detail: str


def probe_streaming(base_url: str) -> Observation:
    reply = get(base_url + "/chunked?chunks=5&size=100")
    expected = b"".join(chunk_payload(i, 100) for i in range(5))
    ok = reply.status == 200 and reply.body == expected
    return Observation("streaming", ok, f"HTTP {reply.status}, {len(reply.body)} of 500 bytes")


def probe_sse(base_url: str) -> Observation:
    reply = get(base_url + "/sse?events=3&interval_ms=1")
    content_type = reply.headers.get("content-type", reply.headers.get("Content-Type", ""))
    ok = (
        reply.status == 200
        and content_type.startswith("text/event-stream")
        and reply.body == b"".join(sse_event(i) for i in range(3))
    )
    return Observation("sse", ok, f"HTTP {reply.status}, {reply.body.count(b'event:')} of 3 events")


def probe_lifespan_startup(base_url: str) -> Observation:
    reply = get(base_url + "/")
    try:
        state = json.loads(reply.body)
    except ValueError:
        return Observation("lifespan_startup", False, f"HTTP {reply.status}, not JSON")
    ok = bool(state.get("startup_complete"))
    return Observation("lifespan_startup", ok, f"state from {state.get('state_source')}")


def probe_websocket(base_url: str) -> Observation:
    url = base_url.replace("http", "ws", 1) + "/ws"
    try:
        ws = websocket.create_connection(url, timeout=5, sslopt={"cert_reqs": ssl.CERT_NONE})
        try:
            ws.send("probe")
            answer = ws.recv()
        finally:
            ws.close()
    except Exception as exc:
        return Observation("websocket", False, f"{type(exc).__name__}: {exc}"[:200])
    return Observation("websocket", answer == "probe", f"echo {answer!r:.20}")


def probe_tls(base_url: str) -> Observation:
    """A TLS handshake seen on the wire, with its version and cipher; plain HTTP is a no."""
    parts = urlsplit(base_url)
    if parts.scheme != "https":
        return Observation("tls", False, f"{parts.scheme}:// URL, no TLS")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # our certificate is self-signed, made at run time
    with (
        socket.create_connection((parts.hostname, parts.port or 443), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        cipher = tls.cipher()
        return Observation("tls", True, f"{tls.version()} {cipher[0] if cipher else ''}".strip())


def probe_pathsend(base_url: str) -> Observation:
    """ASGI's ``http.response.pathsend``: the large app sends its file that way only when the
    scope lists the extension, and says so in ``x-sent-as`` (the bytes are the verify
    step's to check: a server that offers it and sends them wrong fails there)."""
    reply = get(base_url + "/file", timeout=10.0)
    sent_as = {k.lower(): v for k, v in reply.headers.items()}.get("x-sent-as", "")
    if sent_as != "pathsend":
        return Observation("pathsend", False, "the scope lists no http.response.pathsend")
    return Observation("pathsend", True, f"HTTP {reply.status}, {len(reply.body)} bytes by path")


NO_ALPN = "the server chose no protocol by ALPN (it offers none: HTTP/1.1 only)"


def probe_h2(base_url: str) -> Observation:
    """HTTP/2 over TLS: offered by ALPN (h2 or http/1.1, as a browser does), then one GET."""
    return _http2("h2", base_url)


def probe_h2c(base_url: str) -> Observation:
    """HTTP/2 without TLS, by prior knowledge (the connection preface first, no Upgrade)."""
    return _http2("h2c", base_url)


def _http2(capability: str, base_url: str) -> Observation:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with socket.create_connection((host, port), timeout=5) as raw:
        sock: socket.socket = raw
        said = "prior knowledge"
        if capability == "h2":
            if parts.scheme != "https":
                return Observation(capability, False, f"{parts.scheme}:// URL, no TLS for ALPN")
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # our certificate is made at run time
            context.set_alpn_protocols(["h2", "http/1.1"])
            sock = context.wrap_socket(raw, server_hostname=host)
            chosen = sock.selected_alpn_protocol()
            if chosen != "h2":
                return Observation(capability, False, f"ALPN chose {chosen}" if chosen else NO_ALPN)
            said = "ALPN h2"
        status, detail = http2_get(sock, f"{host}:{port}", parts.scheme, (parts.path or "") + "/")
        ok = status is not None
        return Observation(capability, ok, f"{said}: {detail}" if ok else detail)


PROBES: dict[str, Callable[[str], Observation]] = {
    "streaming": probe_streaming,
    "sse": probe_sse,
    "lifespan_startup": probe_lifespan_startup,
    "websocket": probe_websocket,
    "tls": probe_tls,
    "h2": probe_h2,
    "h2c": probe_h2c,
    "pathsend": probe_pathsend,
}


def run_probes(names: tuple[str, ...], base_url: str) -> list[Observation]:
    observations = []
    for name in names:
        try:
            observations.append(PROBES[name](base_url))
        except (OSError, ValueError) as exc:
            observations.append(Observation(name, False, f"{type(exc).__name__}: {exc}"[:200]))
    return observations
