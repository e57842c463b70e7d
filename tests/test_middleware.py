"""PrometheusMiddleware in-process: what it records, and that it changes nothing."""

from __future__ import annotations

import gzip
import json
import random
import string

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from asgi_bench import envvars
from asgi_bench.apps import hello, lifespan, streaming, websocket
from asgi_bench.collectors.exposition import remove_dead_workers
from asgi_bench.collectors.metrics import LATENCY_BUCKETS
from asgi_bench.collectors.middleware import PrometheusMiddleware
from asgi_bench.collectors.routes import OVERFLOW, UNMATCHED, RouteLabeler
from asgi_bench.collectors.store import COUNT, HIST_A, HIST_B, bucket
from tests.asgi import body_of, call, http_scope, request, run, status_of


def wrap(app, **options) -> PrometheusMiddleware:
    return PrometheusMiddleware(
        app, server="test", app_name="t", registry=CollectorRegistry(), **options
    )


def value(mw: PrometheusMiddleware, name: str, **labels: str) -> float:
    got = mw.registry.get_sample_value(name, {"server": "test", "app": "t", **labels})
    return got or 0.0


def test_counts_duration_ttfb_and_bytes():
    mw = wrap(streaming.app, routes=streaming.ROUTES)
    sent = run(call(mw, http_scope("/chunked", query=b"chunks=3&size=100"), [request()]))
    assert body_of(sent) == b"".join(streaming.chunk_payload(i, 100) for i in range(3))
    labels = {"route": "/chunked", "method": "GET", "status": "200"}
    assert value(mw, "asgi_requests_total", **labels) == 1
    assert value(mw, "asgi_response_bytes_total", **labels) == 300
    assert value(mw, "asgi_request_duration_seconds_count", **labels) == 1
    assert value(mw, "asgi_time_to_first_byte_seconds_count", **labels) == 1
    assert value(mw, "asgi_requests_in_progress") == 0
    body = b"x" * 5000
    run(call(mw, http_scope("/upload", "POST"), [request(body)]))
    assert (
        value(mw, "asgi_request_bytes_total", route="/upload", method="POST", status="200") == 5000
    )


def test_prometheus_buckets_come_from_the_fine_histogram():
    assert LATENCY_BUCKETS[0] <= 50e-6 and LATENCY_BUCKETS[-1] == 10.0
    mw = wrap(hello.app)
    block = mw.store.block(("/", "GET", 200))
    block[COUNT] += 1
    block[HIST_A + bucket(40_000)] += 1  # 40 us
    block[HIST_B + bucket(30_000)] += 1  # 30 us
    labels = {"route": "/", "method": "GET", "status": "200"}
    assert value(mw, "asgi_request_duration_seconds_bucket", le="2.5e-05", **labels) == 0
    assert value(mw, "asgi_request_duration_seconds_bucket", le="5e-05", **labels) == 1
    assert value(mw, "asgi_time_to_first_byte_seconds_bucket", le="2.5e-05", **labels) == 0
    assert value(mw, "asgi_time_to_first_byte_seconds_bucket", le="5e-05", **labels) == 1
    # The sum is read back from the fine histogram: the bucket's middle, within 0.8%.
    assert value(mw, "asgi_request_duration_seconds_sum", **labels) == pytest.approx(
        40e-6, rel=0.008
    )


@pytest.mark.parametrize("started", [False, True])
def test_exception_records_500_and_reraises(started):
    async def broken(scope, receive, send):
        if started:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("boom")

    mw = wrap(broken, routes=["/"])
    with pytest.raises(ValueError, match="boom"):
        run(call(mw, http_scope("/"), [request()]))
    assert value(mw, "asgi_requests_total", route="/", method="GET", status="500") == 1
    assert value(mw, "asgi_exceptions_total", route="/", exception="ValueError") == 1
    assert value(mw, "asgi_requests_in_progress") == 0


def test_disconnect_is_counted():
    async def waits_for_body(scope, receive, send):
        await receive()

    mw = wrap(waits_for_body, routes=["/"])
    run(call(mw, http_scope("/"), [{"type": "http.disconnect"}]))
    assert value(mw, "asgi_client_disconnects_total", route="/") == 1


def test_route_table_and_overflow():
    routes = RouteLabeler(["/", "/items/{id}"])
    assert routes.label("/items/42") == "/items/{id}"
    assert routes.label("/items/42/x") == UNMATCHED
    capped = RouteLabeler(None, max_labels=3)
    assert [capped.label(p) for p in ("/a", "/b", "/c", "/d", "/a")] == [
        "/a",
        "/b",
        "/c",
        OVERFLOW,
        "/a",
    ]


@pytest.mark.parametrize("routes", [hello.ROUTES, None])
def test_flood_of_random_paths_keeps_series_bounded(routes):
    mw = wrap(hello.app, routes=routes, max_routes=20)
    rng = random.Random(7)

    async def flood():
        for _ in range(100_000):
            path = "/" + "".join(rng.choices(string.ascii_lowercase, k=12))
            await call(mw, http_scope(path), [request()])

    run(flood())
    series = [
        s
        for f in mw.registry.collect()
        if f.name == "asgi_requests"
        for s in f.samples
        if s.name == "asgi_requests_total"
    ]
    assert sum(s.value for s in series) == 100_000
    assert len({s.labels["route"] for s in series}) <= 21


def test_websocket_metrics_and_passthrough():
    mw = wrap(websocket.app, routes=websocket.ROUTES)
    incoming = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "a"},
        {"type": "websocket.receive", "text": "b"},
        {"type": "websocket.disconnect"},
    ]
    scope = {"type": "websocket", "path": "/ws"}
    assert run(call(mw, scope, incoming)) == run(call(websocket.app, scope, incoming))
    assert value(mw, "asgi_websocket_messages_total", route="/ws", direction="in") == 2
    assert value(mw, "asgi_websocket_messages_total", route="/ws", direction="out") == 2
    assert value(mw, "asgi_websocket_connections_total", route="/ws", outcome="accepted") == 1
    assert value(mw, "asgi_websocket_session_duration_seconds_count", route="/ws") == 1
    assert value(mw, "asgi_websocket_connections_active") == 0


def test_lifespan_passes_through_when_outermost(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.LIFESPAN_MARKER, str(tmp_path / "m"))
    mw = wrap(lifespan.app)
    sent = run(
        call(
            mw,
            {"type": "lifespan", "state": {}},
            [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
        )
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert value(mw, "asgi_lifespan_events_total", phase="startup", outcome="complete") == 1
    assert value(mw, "asgi_lifespan_events_total", phase="shutdown", outcome="complete") == 1
    assert value(mw, "asgi_lifespan_duration_seconds", phase="startup") > 0


def test_lifespan_error_is_recorded_and_reraised():
    async def no_lifespan(scope, receive, send):
        await receive()
        raise RuntimeError("no lifespan here")

    mw = wrap(no_lifespan)
    with pytest.raises(RuntimeError):
        run(call(mw, {"type": "lifespan"}, [{"type": "lifespan.startup"}]))
    assert value(mw, "asgi_lifespan_events_total", phase="startup", outcome="error") == 1


def test_metrics_endpoint_negotiates_gzip_and_openmetrics():
    mw = wrap(hello.app, routes=hello.ROUTES)
    run(call(mw, http_scope("/"), [request()]))
    plain = run(call(mw, http_scope("/metrics"), [request()]))
    assert status_of(plain) == 200
    assert (
        b'asgi_requests_total{app="t",method="GET",route="/",server="test",status="200"} 1.0'
        in body_of(plain)
    )
    zipped = run(
        call(mw, http_scope("/metrics", headers=[(b"accept-encoding", b"gzip")]), [request()])
    )
    assert dict(zipped[0]["headers"])[b"content-encoding"] == b"gzip"
    assert gzip.decompress(body_of(zipped)).startswith(b"# HELP")
    om = run(
        call(
            mw,
            http_scope(
                "/metrics", headers=[(b"accept", b"application/openmetrics-text; version=1.0.0")]
            ),
            [request()],
        )
    )
    assert dict(om[0]["headers"])[b"content-type"].startswith(b"application/openmetrics-text")
    assert body_of(om).rstrip().endswith(b"# EOF")
    families = {f.name for f in text_string_to_metric_families(body_of(plain).decode())}
    assert "asgi_requests" in families


def test_dead_worker_live_gauges_are_removed(tmp_path):
    dead_pid = 2**22 + 1  # above pid_max on this kernel: never alive
    (tmp_path / f"gauge_livesum_{dead_pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{dead_pid}.db").write_bytes(b"")
    assert remove_dead_workers(str(tmp_path)) == [dead_pid]
    assert not (tmp_path / f"gauge_livesum_{dead_pid}.db").exists()
    assert (tmp_path / f"counter_{dead_pid}.db").exists()  # its requests did happen


def test_metrics_on_a_separate_port():
    from asgi_bench.run.resources import free_port
    from asgi_bench.system.http import get

    port = free_port()
    mw = wrap(hello.app, routes=hello.ROUTES, metrics_path=None, metrics_port=port)
    run(call(mw, http_scope("/"), [request()]))
    assert status_of(run(call(mw, http_scope("/metrics"), [request()]))) == 404  # not in-app
    body = get(f"http://127.0.0.1:{port}/metrics").body
    assert (
        b'asgi_requests_total{app="t",method="GET",route="/",server="test",status="200"} 1.0'
        in body
    )


def test_framework_route_templates_label_requests():
    # Starlette and FastAPI put the matched route in scope["route"] once they routed: its
    # template, not the raw path, is the label (no raw paths, no <overflow>).
    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    api = FastAPI()

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    async def user(request):
        return PlainTextResponse(request.path_params["name"])

    star = Starlette(routes=[Route("/users/{name}", user)])
    for app, paths, template in (
        (api, [f"/items/{n}" for n in range(150)], "/items/{item_id}"),
        (star, [f"/users/u{n}" for n in range(150)], "/users/{name}"),
    ):
        mw = wrap(app, max_routes=100)
        for path in paths:
            sent = run(call(mw, http_scope(path), [request()]))
            assert status_of(sent) == 200
        labels = {"route": template, "method": "GET", "status": "200"}
        assert value(mw, "asgi_requests_total", **labels) == 150, template
        assert value(mw, "asgi_requests_total", route="<overflow>", method="GET", status="200") == 0


def test_raw_paths_can_be_kept_out_of_labels():
    mw = wrap(hello.app, raw_paths=False)  # no route table: every path is <unmatched>
    for token in ("reset/abc123", "reset/def456"):
        run(call(mw, http_scope("/" + token), [request()]))
    assert value(mw, "asgi_requests_total", route="<unmatched>", method="GET", status="404") == 2
    families = {s.labels.get("route") for f in mw.registry.collect() for s in f.samples}
    assert not any("abc123" in str(label) for label in families)


@pytest.mark.parametrize(
    "ns",
    [
        *(0, 1, 127, 128, 129, 255, 256),  # exact below 128, log-linear from there
        *(1 << 10, (1 << 20) - 1, 1 << 20, 1 << 30),  # powers of two and one below
        *(59_999_999_999, 60_000_000_000, 60_000_000_001, 1 << 40),  # MAX_NS, a minute
    ],
)
def test_the_inlined_bucket_arithmetic_is_store_bucket(monkeypatch, ns):
    # The per-request path inlines bucket() for speed: a fake clock makes one request last
    # exactly ns (and its first byte come at ns // 2), and the buckets it lands in must be
    # the ones store.bucket names, at the exact/log-linear edge (127, 128), powers of two
    # and MAX_NS (a minute: beyond it everything shares the top bucket).
    import asgi_bench.collectors.middleware as middleware

    ticks = iter([1_000, 1_000 + ns // 2, 1_000 + ns])  # start, first byte, end
    monkeypatch.setattr(middleware, "perf_counter_ns", lambda: next(ticks))
    mw = wrap(hello.app, routes=hello.ROUTES)
    run(call(mw, http_scope("/"), [request()]))
    block = mw.store.block(("/", "GET", 200))
    assert block[COUNT] == 1
    assert block[HIST_A + bucket(ns)] == 1
    assert block[HIST_B + bucket(ns // 2)] == 1


@pytest.mark.parametrize("shared", [False, True])
def test_requests_the_server_handed_over_as_http2_are_counted(shared, tmp_path, monkeypatch):
    # Two requests as HTTP/2, one as HTTP/1.1: the state says 3 started, 2 over HTTP/2,
    # with one worker's store and with the multiprocess one.
    if shared:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    mw = wrap(hello.app)
    for version in ("2", "1.1", "2"):
        run(call(mw, http_scope("/", http_version=version), [request()]))
    state = json.loads(body_of(run(call(mw, http_scope("/metrics/state"), [request()]))))
    assert (state["started"], state["started_h2"]) == (3, 2)
    assert type(mw.store).__name__ == ("SharedStore" if shared else "LocalStore")


def test_call_timing_splits_the_apps_own_time_from_the_servers_send():
    # The app works 3 ms (a busy loop), then its one send takes 6 ms inside the "server"
    # (an asyncio sleep in the send we hand it). Worked out: own ≈ 3 ms, inside ≈ 6 ms, and
    # the plain in-app duration ≈ 9 ms; the split is not a request (no count doubled).
    import asyncio
    import time

    from asgi_bench.collectors.calls import CallTimingMiddleware
    from asgi_bench.collectors.store import bucket_range

    async def app(scope, receive, send):
        end = time.perf_counter() + 0.003
        while time.perf_counter() < end:
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def slow_send(message):
        if message["type"] == "http.response.start":
            await asyncio.sleep(0.006)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    mw = CallTimingMiddleware(app, server="test", app_name="t", registry=CollectorRegistry())
    run(mw(http_scope("/"), receive, slow_send))

    def ms(hist):
        ((index, count),) = hist.items()
        assert count == 1
        return sum(bucket_range(index)) / 2 / 1e6

    found = {s.key[1]: s for s in mw.store.series()}
    own, inside, total = ms(found["ASGI"].hist_a), ms(found["ASGI"].hist_b), ms(found["GET"].hist_a)
    assert 2.9 <= own <= 4.5, own
    assert 5.9 <= inside <= 9.0, inside
    assert abs(total - (own + inside)) < 0.5, (total, own, inside)
    assert value(mw, "asgi_requests_total", route="/", method="GET", status="200") == 1
    assert value(mw, "asgi_requests_total", route="/", method="ASGI", status="200") == 0
    assert mw.store.in_progress() == 0
