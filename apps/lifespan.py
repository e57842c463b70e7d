"""Lifespan: startup builds state, requests read it, shutdown leaves a marker file.

GET / answers JSON such as::

    {"startup_complete": true, "state_source": "scope", "items": 2000, "checksum": "...", ...}

``state_source`` says where the request found the state: ``scope`` (the server supports the
lifespan state extension), ``module`` (lifespan ran, but the server has no state extension) or
``lazy`` (lifespan never ran, as under daphne; the request built the state itself).

On shutdown, a line ``shutdown <pid> <unix time>`` is appended to the file named by the
environment variable ``ASGI_BENCH_LIFESPAN_MARKER``, so a harness can prove that shutdown ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from asgi_bench import envvars
from asgi_bench.apps._asgi import Receive, Scope, Send, not_found, respond

ROUTES = ("/",)

ITEMS = 2000

# Fallback for servers without lifespan state: one copy per worker process.
_module_state: dict[str, Any] = {}


def build_state() -> dict[str, Any]:
    """Real startup work: derive a table of digests and a checksum over it."""
    started = time.perf_counter()
    table = [hashlib.sha256(b"item-%d" % i).hexdigest() for i in range(ITEMS)]
    checksum = hashlib.sha256("".join(table).encode()).hexdigest()
    return {
        "items": len(table),
        "checksum": checksum,
        "startup_ms": round((time.perf_counter() - started) * 1000, 3),
        "startup_finished_at": time.time(),
    }


EXPECTED_CHECKSUM = hashlib.sha256(
    "".join(hashlib.sha256(b"item-%d" % i).hexdigest() for i in range(ITEMS)).encode()
).hexdigest()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(scope, receive, send)
    elif scope["type"] == "http":
        if scope["path"] != "/":
            await not_found(send)
            return
        body = json.dumps(read_state(scope)).encode()
        await respond(send, 200, body, b"application/json")


def read_state(scope: Scope) -> dict[str, Any]:
    """What a request answers: the state, and where it found it (``state_source``)."""
    state = scope.get("state")
    if state and "checksum" in state:
        return {"startup_complete": True, "state_source": "scope", **_public(state)}
    if _module_state.get("startup_complete"):
        return {"startup_complete": True, "state_source": "module", **_public(_module_state)}
    if "checksum" not in _module_state:
        _module_state.update(build_state())
    return {"startup_complete": False, "state_source": "lazy", **_public(_module_state)}


def _public(state: Any) -> dict[str, Any]:
    return {key: state[key] for key in ("items", "checksum", "startup_ms", "startup_finished_at")}


def started(state: dict[str, Any]) -> None:
    """Startup built ``state``: kept for servers without the lifespan state extension."""
    _module_state.update(state, startup_complete=True)


def mark_shutdown() -> None:
    """Leave the line that proves shutdown ran, in the harness's marker file."""
    marker = os.environ.get(envvars.LIFESPAN_MARKER)
    if marker:
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write(f"shutdown {os.getpid()} {time.time():.3f}\n")


async def _lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                state = build_state()
            except Exception as exc:  # report, don't crash the server's lifespan task
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            started(state)
            if isinstance(scope.get("state"), dict):
                scope["state"].update(state)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            mark_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
