"""All the apps behind one server, each under its own path prefix.

``/hello/...`` goes to :mod:`apps.hello`, ``/streaming/...`` to :mod:`apps.streaming`, and
so on, with the prefix moved from ``path`` to ``root_path`` as ASGI mounting does. A
container then serves the whole quick matrix on one port. Lifespan events are fanned out to
every app; an app that does not handle lifespan is left out of it. ``/db`` is mounted only
where ``ASGI_BENCH_DB_DSN`` names its PostgreSQL (compose's ``postgres`` service): its
lifespan startup opens a pool there, and fails without one.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from asgi_bench import envvars
from asgi_bench.apps import db, headers, hello, jsonapi, large, lifespan, streaming, websocket
from asgi_bench.apps._asgi import ASGIApp, Message, Receive, Scope, Send, not_found

MOUNTS: dict[str, Any] = {
    "/hello": hello,
    "/streaming": streaming,
    "/lifespan": lifespan,
    "/websocket": websocket,
    "/jsonapi": jsonapi,
    "/headers": headers,
    "/large": large,
}
if os.environ.get(envvars.DB_DSN):
    MOUNTS["/db"] = db

ROUTES = tuple(prefix + route for prefix, module in MOUNTS.items() for route in module.ROUTES)


class Mount:
    def __init__(self, apps: dict[str, ASGIApp]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        path: str = scope["path"]
        prefix = "/" + path.split("/", 2)[1]
        app = self.apps.get(prefix)
        if app is None:
            if scope["type"] == "http":
                await not_found(send)
            return
        child = dict(
            scope, path=path[len(prefix) :] or "/", root_path=scope.get("root_path", "") + prefix
        )
        await app(child, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        inboxes: list[asyncio.Queue[Message]] = []
        outboxes: list[asyncio.Queue[Message]] = []
        tasks = []
        for app in self.apps.values():
            inbox: asyncio.Queue[Message] = asyncio.Queue()
            outbox: asyncio.Queue[Message] = asyncio.Queue()
            inboxes.append(inbox)
            outboxes.append(outbox)
            tasks.append(asyncio.ensure_future(app(scope, inbox.get, outbox.put)))
        live = list(range(len(tasks)))
        while live:
            message = await receive()
            phase = message["type"].removeprefix("lifespan.")
            failures = []
            for i in list(live):
                inboxes[i].put_nowait(message)
                reply = asyncio.ensure_future(outboxes[i].get())
                await asyncio.wait({reply, tasks[i]}, return_when=asyncio.FIRST_COMPLETED)
                if not reply.done():  # the app ended (or raised) without answering
                    reply.cancel()
                    live.remove(i)
                    continue
                if reply.result()["type"].endswith(".failed"):
                    failures.append(reply.result().get("message", ""))
            outcome = "failed" if failures else "complete"
            answer: Message = {"type": f"lifespan.{phase}.{outcome}"}
            if failures:
                answer["message"] = "; ".join(failures)
            await send(answer)
            if phase == "shutdown" or failures:
                break
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


app = Mount({prefix: module.app for prefix, module in MOUNTS.items()})
