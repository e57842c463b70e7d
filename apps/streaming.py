"""Streaming in both directions.

Routes:
    GET  /chunked?chunks=N&size=B      N body chunks of B bytes (default 100 x 1 KiB), sent with
                                       ``more_body=True``; no Content-Length, so HTTP/1.1 is chunked
    GET  /sse?events=N&interval_ms=M   Server-Sent Events: N events, M ms apart (default 10 x 0 ms)
    POST /upload                       reads the body chunk by chunk through ``receive()`` and
                                       answers ``{"bytes": n, "sha256": hex}``
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator

from asgi_bench.apps._asgi import (
    Receive,
    Scope,
    Send,
    not_found,
    query_int,
    respond,
    unsupported_lifespan,
)

ROUTES = ("/", "/chunked", "/sse", "/upload")

MAX_CHUNKS = 100_000
MAX_CHUNK_SIZE = 1 << 20


def chunk_payload(index: int, size: int) -> bytes:
    """The bytes of chunk ``index``: deterministic, so a client can verify what it got."""
    return bytes([97 + index % 26]) * size


async def chunks(scope: Scope) -> AsyncIterator[bytes]:
    """The chunks ``/chunked`` asks for (``?chunks=N&size=B``), for a framework's streaming
    response (apps/starlette_apps.py, apps/fastapi_apps.py)."""
    count = query_int(scope, "chunks", 100, MAX_CHUNKS)
    size = query_int(scope, "size", 1024, MAX_CHUNK_SIZE)
    for index in range(count):
        yield chunk_payload(index, size)


def sse_event(index: int) -> bytes:
    return b'id: %d\nevent: tick\ndata: {"n": %d}\n\n' % (index, index)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path in ("/", "/chunked"):
        await _chunked(scope, send)
    elif path == "/sse":
        await _sse(scope, send)
    elif path == "/upload" and scope["method"] == "POST":
        await _upload(receive, send)
    else:
        await not_found(send)


async def _chunked(scope: Scope, send: Send) -> None:
    chunks = query_int(scope, "chunks", 100, MAX_CHUNKS)
    size = query_int(scope, "size", 1024, MAX_CHUNK_SIZE)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    for index in range(chunks):
        await send(
            {"type": "http.response.body", "body": chunk_payload(index, size), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _sse(scope: Scope, send: Send) -> None:
    events = query_int(scope, "events", 10, MAX_CHUNKS)
    interval = query_int(scope, "interval_ms", 0, 60_000) / 1000
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
        }
    )
    for index in range(events):
        if index and interval:
            await asyncio.sleep(interval)
        await send({"type": "http.response.body", "body": sse_event(index), "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _upload(receive: Receive, send: Send) -> None:
    digest = hashlib.sha256()
    received = 0
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        digest.update(body)
        received += len(body)
        more_body = message.get("more_body", False)
    payload = json.dumps({"bytes": received, "sha256": digest.hexdigest()}).encode()
    await respond(send, 200, payload, b"application/json")
