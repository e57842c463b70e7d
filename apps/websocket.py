"""WebSocket echo: every text or bytes message comes back unchanged.

Plain HTTP on ``/`` answers 200 so that readiness checks work like the other apps; any
other path 404, as every app's does.
"""

from __future__ import annotations

from asgi_bench.apps._asgi import (
    Receive,
    Scope,
    Send,
    not_found,
    respond,
    unsupported_lifespan,
)

ROUTES = ("/", "/ws")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
    elif scope["type"] == "http":
        if scope["path"] == "/":
            await respond(send, 200, b"websocket echo: connect to /ws")
        else:
            await not_found(send)
    elif scope["type"] == "websocket":
        await _echo(receive, send)


async def _echo(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return
