"""hello, json, streaming and lifespan written as Starlette apps: the same routes and
answers as the raw apps, through Starlette's routing, requests and responses, so a row
prices the framework on each server. One attribute per workload (``hello``, ``json``...).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from asgi_bench.apps import jsonapi
from asgi_bench.apps import lifespan as raw_lifespan
from asgi_bench.apps.hello import HELLO
from asgi_bench.apps.streaming import chunks


async def _hello(request: Request) -> Response:
    return Response(HELLO, media_type="text/html")


async def _page(request: Request) -> Response:
    return JSONResponse(jsonapi.PAGE)  # compact separators: the raw app's bytes


async def _chunked(request: Request) -> Response:
    return StreamingResponse(chunks(request.scope), media_type="application/octet-stream")


async def _state(request: Request) -> Response:
    return JSONResponse(raw_lifespan.read_state(request.scope))


@contextlib.asynccontextmanager
async def _startup(app: Starlette) -> AsyncIterator[dict[str, object]]:
    state = raw_lifespan.build_state()
    raw_lifespan.started(state)
    yield state  # Starlette hands it to every request in scope["state"]
    raw_lifespan.mark_shutdown()


hello = Starlette(routes=[Route("/", _hello)])
json = Starlette(routes=[Route("/", _page)])
streaming = Starlette(routes=[Route("/", _chunked), Route("/chunked", _chunked)])
lifespan = Starlette(routes=[Route("/", _state)], lifespan=_startup)
