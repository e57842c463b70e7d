"""One query per request on a real PostgreSQL (TechEmpower's single query), through asyncpg.

Routes:
    GET /?id=N  -> 200 application/json ``{"id":N,"randomNumber":M}``, row N of the
                   ``world`` table (a random row without ``id``)

The pool is opened in lifespan startup (the DSN from ``ASGI_BENCH_DB_DSN``) and closed at
shutdown; under a server that runs no lifespan (daphne) the first request opens it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from typing import Any

from asgi_bench import envvars
from asgi_bench.apps._asgi import Receive, Scope, Send, not_found, query_int, respond

ROUTES = ("/",)
ROWS = 10_000  # TechEmpower's World table
# What a fresh database gets before the load (asgi_bench/system/postgres.py runs it).
SETUP_SQL = (
    "CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL)",
    f"INSERT INTO world SELECT g, g * 7919 % {ROWS} + 1 FROM generate_series(1, {ROWS}) g",
    "ANALYZE world",
)
POOL_SIZE = 8  # connections per server process
QUERY = "SELECT id, randomnumber FROM world WHERE id = $1"

_pool: Any = None
_opening = asyncio.Lock()


def random_number(row: int) -> int:
    """Row ``row``'s seeded ``randomnumber`` (SETUP_SQL's formula): the driver checks each
    answer without a query of its own.

    >>> random_number(1), random_number(10_000)
    (7920, 1)
    """
    return row * 7919 % ROWS + 1


def answer(row: int, number: int) -> bytes:
    """The body for a row, as the driver expects it byte for byte."""
    return json.dumps({"id": row, "randomNumber": number}, separators=(",", ":")).encode()


async def _open() -> Any:
    global _pool
    async with _opening:
        if _pool is None:
            import asyncpg

            dsn = os.environ.get(envvars.DB_DSN, "")
            _pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
    return _pool


async def _lifespan(receive: Receive, send: Send) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await _open()
            except Exception as exc:  # the server says so, and refuses to start
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
                _pool = None
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"] != "/":
        await not_found(send)
        return
    row = query_int(scope, "id", 0, ROWS) or random.randint(1, ROWS)
    pool = _pool or await _open()
    record = await pool.fetchrow(QUERY, row)
    if record is None:
        await respond(send, 404, b"no such row")
        return
    await respond(send, 200, answer(record["id"], record["randomnumber"]), b"application/json")
