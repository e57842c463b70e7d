"""Hello World, plus a known-latency endpoint for accuracy checks.

Routes:
    GET /                -> 200 text/html "Hello World"
    GET /sleep?ms=N      -> sleeps N ms (at most 10 s), then 200 "slept N"
"""

from __future__ import annotations

import asyncio

from asgi_bench.apps._asgi import (
    Receive,
    Scope,
    Send,
    not_found,
    query_int,
    respond,
    unsupported_lifespan,
)

ROUTES = ("/", "/sleep")

HELLO = b"Hello World"
_HELLO_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"11")],
}
_HELLO_BODY = {"type": "http.response.body", "body": HELLO}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/":
        # Pre-built messages: the hello app should cost the server, not the app.
        await send(_HELLO_START)
        await send(_HELLO_BODY)
    elif path == "/sleep":
        ms = query_int(scope, "ms", 10, 10_000)
        await asyncio.sleep(ms / 1000)
        await respond(send, 200, b"slept %d" % ms)
    else:
        await not_found(send)
