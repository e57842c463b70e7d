"""Under every server, the middleware leaves traffic byte-identical and counts it."""

from __future__ import annotations

import os
import ssl
import urllib.request

import pytest
import websocket

from asgi_bench.collectors.scrape import parse
from asgi_bench.http import get
from tests.servers import ALL, running

pytestmark = pytest.mark.integration

UPLOAD = os.urandom(300_000)


def post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def streaming_exchange(base_url: str) -> list[object]:
    chunked = get(base_url + "/chunked?chunks=50&size=1000", timeout=10)
    sse = get(base_url + "/sse?events=5&interval_ms=2", timeout=10)
    return [
        chunked.status,
        chunked.body,
        sse.status,
        sse.body,
        sse.headers.get("content-type"),
        post(base_url + "/upload", UPLOAD),
    ]


def ws_exchange(base_url: str) -> list[object]:
    ws = websocket.create_connection(
        base_url.replace("http", "ws", 1) + "/ws", timeout=10, sslopt={"cert_reqs": ssl.CERT_NONE}
    )
    try:
        answers: list[object] = []
        for message in ("hello", "x" * 70_000):
            ws.send(message)
            answers.append(ws.recv())
        ws.send_binary(b"\x00\xff" * 10)
        answers.append(ws.recv())
        return answers
    finally:
        ws.close()


@pytest.mark.parametrize("server", ALL)
def test_streaming_sse_upload_and_websocket_identical(server, tmp_path):
    with running(server, "streaming", tmp_path, metrics=False) as bare:
        expected = streaming_exchange(bare.base_url)
    with running(server, "streaming", tmp_path, metrics=True) as wrapped:
        assert streaming_exchange(wrapped.base_url) == expected
        snap = parse(get(wrapped.base_url + "/metrics").body.decode(), 0)
    assert snap.requests == 3 + 1  # the three requests above, plus the readiness GET
    with running(server, "websocket", tmp_path, metrics=False) as bare:
        expected_ws = ws_exchange(bare.base_url)
    with running(server, "websocket", tmp_path, metrics=True) as wrapped:
        assert ws_exchange(wrapped.base_url) == expected_ws
        text = get(wrapped.base_url + "/metrics").body.decode()
    assert parse(text, 0).ws_messages_in == 3
    assert 'asgi_websocket_connections_total{app="websocket",outcome="accepted"' in text
