"""Under every server, the middleware leaves traffic byte-identical and counts it."""

from __future__ import annotations

import json
import os
import ssl
import urllib.request

import pytest
import websocket

from asgi_bench.run.state import parse_state
from asgi_bench.system.http import get
from tests.prom import prom_sum
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
        text = get(wrapped.base_url + "/metrics").body.decode()
        state = parse_state(json.loads(get(wrapped.base_url + "/metrics/state").body), 0.0)
    # The three requests above, plus the readiness GET; in Prometheus and in the state.
    assert prom_sum(text, "asgi_requests_total") == 3 + 1
    assert state.requests == 3 + 1
    with running(server, "websocket", tmp_path, metrics=False) as bare:
        expected_ws = ws_exchange(bare.base_url)
    with running(server, "websocket", tmp_path, metrics=True) as wrapped:
        assert ws_exchange(wrapped.base_url) == expected_ws
        text = get(wrapped.base_url + "/metrics").body.decode()
        state = parse_state(json.loads(get(wrapped.base_url + "/metrics/state").body), 0.0)
    assert prom_sum(text, "asgi_websocket_messages_total", direction="in") == 3
    assert state.ws_messages_in == 3 and sum(state.ws_echo.values()) == 3
    assert 'asgi_websocket_connections_total{app="websocket",outcome="accepted"' in text
