"""The raw ASGI apps, called in-process."""

from __future__ import annotations

import hashlib
import json

from asgi_bench import envvars
from asgi_bench.apps import headers, hello, jsonapi, lifespan, streaming, websocket
from asgi_bench.apps.streaming import chunk_payload, sse_event
from tests.asgi import body_of, call, http_scope, request, run, status_of


def test_hello_world():
    sent = run(call(hello.app, http_scope("/"), [request()]))
    assert status_of(sent) == 200
    assert body_of(sent) == b"Hello World"
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"].startswith(b"text/html")


def test_json_serialises_its_page_every_request():
    sent = run(call(jsonapi.app, http_scope("/"), [request()]))
    assert status_of(sent) == 200
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/json"
    page = json.loads(body_of(sent))
    assert page["per_page"] == 10 and len(page["items"]) == 10
    assert page["items"][3] == {
        "id": 3,
        "name": "item 0003",
        "price": 13.74,  # 9.99 + 3 x 1.25
        "in_stock": False,  # every third is out
        "tags": ["asgi", "bench", "t3"],
        "owner": {"id": 103, "name": "owner 3"},
    }
    assert 1000 <= len(body_of(sent)) <= 1400  # about 1 KB, as the workload says


def test_headers_are_checked_both_ways():
    sent = run(
        call(headers.app, http_scope("/", headers=list(headers.REQUEST_HEADERS)), [request()])
    )
    assert status_of(sent) == 200 and body_of(sent) == b"headers ok"
    answered = sent[0]["headers"]
    assert len(answered) == 10 and set(headers.RESPONSE_HEADERS) <= set(answered)
    # A cookie cut short by one byte (a server's header size limit would): 400, naming it.
    cut = [(n, v[:-1] if n == b"cookie" else v) for n, v in headers.REQUEST_HEADERS]
    refused = run(call(headers.app, http_scope("/", headers=cut), [request()]))
    assert status_of(refused) == 400 and body_of(refused) == b"missing: cookie"


def test_unknown_path_is_404():
    assert status_of(run(call(hello.app, http_scope("/nope"), [request()]))) == 404


def test_sleep_endpoint_reads_ms():
    sent = run(call(hello.app, http_scope("/sleep", query=b"ms=3"), [request()]))
    assert body_of(sent) == b"slept 3"


def test_chunked_sends_more_body_chunks():
    sent = run(call(streaming.app, http_scope("/chunked", query=b"chunks=4&size=10"), [request()]))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert [m.get("more_body") for m in bodies] == [True, True, True, True, False]
    assert body_of(sent) == b"".join(chunk_payload(i, 10) for i in range(4))


def test_sse_events():
    sent = run(call(streaming.app, http_scope("/sse", query=b"events=3"), [request()]))
    assert dict(sent[0]["headers"])[b"content-type"] == b"text/event-stream"
    assert body_of(sent) == b"".join(sse_event(i) for i in range(3))


def test_upload_reads_body_in_chunks():
    parts = [b"a" * 1000, b"b" * 500, b""]
    incoming = [
        {"type": "http.request", "body": p, "more_body": i < 2} for i, p in enumerate(parts)
    ]
    sent = run(call(streaming.app, http_scope("/upload", "POST"), incoming))
    answer = json.loads(body_of(sent))
    assert answer == {"bytes": 1500, "sha256": hashlib.sha256(b"".join(parts)).hexdigest()}


def test_lifespan_startup_state_and_shutdown_marker(tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    monkeypatch.setenv(envvars.LIFESPAN_MARKER, str(marker))
    monkeypatch.setattr(lifespan, "_module_state", {})
    state: dict = {}
    sent = run(
        call(
            lifespan.app,
            {"type": "lifespan", "state": state},
            [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
        )
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert state["checksum"] == lifespan.EXPECTED_CHECKSUM
    assert marker.read_text().startswith("shutdown ")
    with_state = json.loads(
        body_of(run(call(lifespan.app, http_scope("/", state=state), [request()])))
    )
    assert with_state["startup_complete"] and with_state["state_source"] == "scope"
    module_only = json.loads(body_of(run(call(lifespan.app, http_scope("/"), [request()]))))
    assert module_only["startup_complete"] and module_only["state_source"] == "module"


def test_lifespan_app_without_lifespan_builds_state_lazily(monkeypatch):
    monkeypatch.setattr(lifespan, "_module_state", {})
    answer = json.loads(body_of(run(call(lifespan.app, http_scope("/"), [request()]))))
    assert answer["startup_complete"] is False
    assert answer["state_source"] == "lazy"
    assert answer["checksum"] == lifespan.EXPECTED_CHECKSUM


def test_websocket_echo():
    incoming: list[dict] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "hi"},
        {"type": "websocket.receive", "bytes": b"\x00\x01"},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    sent = run(call(websocket.app, {"type": "websocket", "path": "/ws"}, incoming))
    assert sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.send", "text": "hi"},
        {"type": "websocket.send", "bytes": b"\x00\x01"},
    ]


def test_combined_mounts_every_app_under_its_prefix():
    from asgi_bench.apps import combined

    sent = run(call(combined.app, http_scope("/hello/"), [request()]))
    assert body_of(sent) == b"Hello World"
    sent = run(
        call(combined.app, http_scope("/streaming/chunked", query=b"chunks=2&size=3"), [request()])
    )
    assert body_of(sent) == b"aaabbb"
    assert status_of(run(call(combined.app, http_scope("/nope/"), [request()]))) == 404
    assert "/websocket/ws" in combined.ROUTES


def test_combined_fans_lifespan_out(tmp_path, monkeypatch):
    from asgi_bench.apps import combined

    monkeypatch.setenv(envvars.LIFESPAN_MARKER, str(tmp_path / "marker"))
    monkeypatch.setattr(lifespan, "_module_state", {})
    state: dict = {}
    sent = run(
        call(
            combined.app,
            {"type": "lifespan", "state": state},
            [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
        )
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert state["checksum"] == lifespan.EXPECTED_CHECKSUM
    assert (tmp_path / "marker").read_text().startswith("shutdown")
