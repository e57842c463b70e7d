"""The server registry: config name -> ``module:attribute`` of its :class:`ServerSpec`.

Specs are imported lazily, so listing names costs nothing. To add a server, write one small
module beside this one and add one line here.
"""

from __future__ import annotations

from asgi_bench.errors import UsageError
from asgi_bench.servers.base import LaunchOptions, ServerSpec
from asgi_bench.system.importer import import_from_string

SERVERS: dict[str, str] = {
    "uvicorn": "asgi_bench.servers.uvicorn:UVICORN_UVLOOP",
    "uvicorn-h11": "asgi_bench.servers.uvicorn:UVICORN_H11",
    "hypercorn": "asgi_bench.servers.hypercorn:HYPERCORN_ASYNCIO",
    "hypercorn-uvloop": "asgi_bench.servers.hypercorn:HYPERCORN_UVLOOP",
    "granian": "asgi_bench.servers.granian:GRANIAN",
    "daphne": "asgi_bench.servers.daphne:DAPHNE",
    "gunicorn-uvicorn": "asgi_bench.servers.gunicorn:GUNICORN_UVICORN",
    "gunicorn": "asgi_bench.servers.gunicorn:GUNICORN_ASGI",
}

__all__ = ["SERVERS", "LaunchOptions", "ServerSpec", "get_server"]


def get_server(name: str) -> ServerSpec:
    try:
        target = SERVERS[name]
    except KeyError:
        raise UsageError(f"unknown server {name!r}; choose from: {', '.join(SERVERS)}") from None
    spec: ServerSpec = import_from_string(target)
    return spec
