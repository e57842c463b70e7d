"""Container health check: ``python -m asgi_bench.system.healthcheck``.

Healthy when ``HEALTHCHECK_URL`` answers HTTP 200 *and* its port is held by a process of
this container: with ``network_mode: host`` another container or process on the same port
would otherwise answer for us. A container without the variable (the bench, Locust) has
nothing to check and is healthy while it runs.
"""

from __future__ import annotations

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
        answered = get(url, timeout=2).status == 200
    except OSError:
        return 1
    return 0 if answered and port is not None and listening_here(port) else 1


if __name__ == "__main__":
    sys.exit(main())
