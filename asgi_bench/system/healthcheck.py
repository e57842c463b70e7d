"""Container health check: ``python -m asgi_bench.system.healthcheck``.

Healthy when ``HEALTHCHECK_URL`` answers HTTP 200 *and* its port is held by a process of
this container: with ``network_mode: host`` another container or process on the same port
would otherwise answer for us. A ``postgresql://`` URL (compose's ``postgres`` service) is
healthy once the db app's ``world`` table answers, so the servers start after its setup. A
container without the variable (the bench, Locust) has nothing to check and is healthy
while it runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
from urllib.parse import urlsplit

import psutil

from asgi_bench.system.http import get
from asgi_bench.system.processes import listens


def listening_here(port: int) -> bool:
    """Sockets of processes outside this container's pid namespace show no pid."""
    mine = (c for c in psutil.net_connections(kind="tcp") if c.pid is not None)
    return listens(mine, port)


def main() -> int:
    url = os.environ.get("HEALTHCHECK_URL")
    if not url:
        return 0
    port = urlsplit(url).port
    try:
        answered = _postgres_ready(url) if url.startswith("postgresql:") else _http_ok(url)
    except (TimeoutError, OSError):
        return 1
    return 0 if answered and port is not None and listening_here(port) else 1


def _http_ok(url: str) -> bool:
    return get(url, timeout=2).status == 200


def _postgres_ready(dsn: str) -> bool:
    import asyncpg

    async def rows() -> int:
        connection = await asyncpg.connect(dsn, timeout=2)
        try:
            count: int = await connection.fetchval("SELECT count(*) FROM world")
        finally:
            await connection.close()
        return count

    try:
        return asyncio.run(rows()) > 0
    except asyncpg.PostgresError:  # starting up, or the table not made yet
        return False


if __name__ == "__main__":
    sys.exit(main())
