"""Headers: a request with 20 headers, a 1 KB cookie among them, and an answer with 10, each
checked both ways: the app answers 400 naming the first request header that did not arrive
as sent, and the driver checks the answer's headers. Browsers and API clients send this much;
hello sends one.

Routes:
    GET /        -> 200 "headers ok" with RESPONSE_HEADERS, or 400 "missing: NAME"
    GET /ready   -> 200 "ready", whatever the headers (the harness's readiness check)
"""

from __future__ import annotations

from asgi_bench.apps._asgi import Receive, Scope, Send, not_found, respond, unsupported_lifespan

ROUTES = ("/", "/ready")

COOKIE = b"; ".join(b"c%02d=%s" % (i, b"%02d" % i * 20) for i in range(24))  # 1,102 bytes
REQUEST_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) asgi-bench/headers"),
    (b"accept", b"application/json, text/plain, */*"),
    (b"accept-language", b"en-GB,en;q=0.9,de;q=0.8"),
    (b"accept-encoding", b"identity"),
    (b"cache-control", b"no-cache"),
    (b"pragma", b"no-cache"),
    (b"referer", b"https://app.example.test/dashboard?tab=latency"),
    (b"origin", b"https://app.example.test"),
    (b"authorization", b"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl"),
    (b"x-request-id", b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
    (b"x-forwarded-for", b"203.0.113.7, 198.51.100.2"),
    (b"x-forwarded-proto", b"https"),
    (b"x-api-version", b"2026-12-01"),
    (b"sec-fetch-mode", b"cors"),
    (b"sec-fetch-site", b"same-site"),
    (b"sec-fetch-dest", b"empty"),
    (b"dnt", b"1"),
    (b"if-none-match", b'W/"5f3c-17c4"'),
    (b"cookie", COOKIE),
)  # with Host: 20 request headers
RESPONSE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"private, max-age=0"),
    (b"x-request-id", b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"vary", b"Accept-Encoding, Origin"),
    (b"access-control-allow-origin", b"https://app.example.test"),
    (b"etag", b'W/"5f3c-17c4"'),
)  # with content-type and content-length: 10 response headers
BODY = b"headers ok"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/ready":
        await respond(send, 200, b"ready")
        return
    if scope["path"] != "/":
        await not_found(send)
        return
    got = dict(scope["headers"])
    for name, value in REQUEST_HEADERS:
        if got.get(name) != value:
            await respond(send, 400, b"missing: " + name)
            return
    start = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(BODY)),
        *RESPONSE_HEADERS,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": start})
    await send({"type": "http.response.body", "body": BODY})
