"""A tiny in-process ASGI driver for unit tests: feed messages, collect what is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def call(
    app: Any, scope: dict[str, Any], incoming: Iterable[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in incoming:
        queue.put_nowait(message)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def http_scope(
    path: str = "/", method: str = "GET", query: bytes = b"", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": extra.pop("headers", []),
        **extra,
    }


def request(body: bytes = b"") -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": False}


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def status_of(sent: list[dict[str, Any]]) -> int:
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def run(coro: Any) -> Any:
    return asyncio.run(coro)
