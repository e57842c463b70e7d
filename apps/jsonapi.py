"""JSON: an object of about 1 KB serialised on every request, as TechEmpower's JSON test
serialises its message (larger here: a page of an API's list), so the row prices the work an
API endpoint does per request beside the server's own.

Routes:
    GET /    -> 200 application/json, ``json.dumps(PAGE)`` made afresh each time
"""

from __future__ import annotations

import json

from asgi_bench.apps._asgi import Receive, Scope, Send, not_found, respond, unsupported_lifespan

ROUTES = ("/",)

# Ten items of an API's page: ids, names, prices, tags, a nested owner. 1,280 bytes as JSON.
PAGE = {
    "page": 1,
    "per_page": 10,
    "total": 1000,
    "items": [
        {
            "id": i,
            "name": f"item {i:04d}",
            "price": round(9.99 + i * 1.25, 2),
            "in_stock": i % 3 != 0,
            "tags": ["asgi", "bench", f"t{i % 4}"],
            "owner": {"id": 100 + i % 7, "name": f"owner {i % 7}"},
        }
        for i in range(10)
    ],
}
SEPARATORS = (",", ":")


def body() -> bytes:
    """The response body: what the app serialises per request (and the driver checks)."""
    return json.dumps(PAGE, separators=SEPARATORS).encode()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/":
        await respond(send, 200, body(), content_type=b"application/json")
    else:
        await not_found(send)
