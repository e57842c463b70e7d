"""hello, json, streaming and lifespan written as FastAPI apps, as its users write them
(path operations returning a dict where the answer is JSON), with the raw apps' routes and
answers. One attribute per workload (``hello``, ``json``...).

FastAPI's ``@app.get`` answers HEAD with 405: the verify step notes it as HTTP conformance.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from asgi_bench.apps import jsonapi
from asgi_bench.apps import lifespan as raw_lifespan
from asgi_bench.apps.hello import HELLO
from asgi_bench.apps.streaming import chunks

hello = FastAPI()
json = FastAPI()
streaming = FastAPI()


@contextlib.asynccontextmanager
async def _startup(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    state = raw_lifespan.build_state()
    raw_lifespan.started(state)
    yield state
    raw_lifespan.mark_shutdown()


lifespan = FastAPI(lifespan=_startup)


@hello.get("/")
async def _hello() -> Response:
    return Response(HELLO, media_type="text/html")


@json.get("/")
async def _page() -> dict[str, Any]:
    return jsonapi.PAGE


@streaming.get("/")
@streaming.get("/chunked")
async def _chunked(request: Request) -> StreamingResponse:
    return StreamingResponse(chunks(request.scope), media_type="application/octet-stream")


@lifespan.get("/")
async def _state(request: Request) -> dict[str, Any]:
    return raw_lifespan.read_state(request.scope)
