"""Tiny shared helpers for the raw ASGI apps: types, responses, query parsing.

Kept framework-free on purpose: every server must see the same minimal app.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from asgi_bench.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]


async def respond(
    send: Send, status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8"
) -> None:
    """Send a complete, non-streamed response."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def not_found(send: Send) -> None:
    await respond(send, 404, b"Not Found")


def query_int(scope: Scope, name: str, default: int, maximum: int) -> int:
    """Read a non-negative integer from the query string, clamped to ``maximum``."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    if not values:
        return default
    try:
        return max(0, min(int(values[0]), maximum))
    except ValueError:
        return default


async def unsupported_lifespan(receive: Receive, send: Send) -> None:
    """Accept lifespan events with nothing to do, so servers need no special flags."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
