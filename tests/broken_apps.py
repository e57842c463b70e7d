"""Deliberately broken ASGI apps for the verify step's tests: each answers like hello, but
wrong in one way a load test that reads only the status would miss."""

from __future__ import annotations

from typing import Any

from asgi_bench.apps._asgi import unsupported_lifespan


async def _hello_with(send: Any, declared: bytes, body: bytes) -> None:
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", declared)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def long_length(scope: Any, receive: Any, send: Any) -> None:
    """Declares 12 bytes and sends hello's 11."""
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
    elif scope["type"] == "http":
        await _hello_with(send, b"12", b"Hello World")


async def no_body(scope: Any, receive: Any, send: Any) -> None:
    """Declares hello's 11 bytes, sends none; and answers 200 on every path."""
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
    elif scope["type"] == "http":
        await _hello_with(send, b"11", b"")


async def everywhere(scope: Any, receive: Any, send: Any) -> None:
    """hello's answer, right, on every path: no 404 for one it does not serve."""
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
    elif scope["type"] == "http":
        await _hello_with(send, b"11", b"Hello World")
