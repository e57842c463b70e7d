"""gunicorn, as teams deploy it: an arbiter process that forks ``--workers`` worker
processes, each an event loop serving the app. The harness measures the whole tree (arbiter
and workers) and pins it, as it does a uvicorn with workers.

- ``gunicorn-uvicorn``: uvicorn's event loop and protocol inside gunicorn's process
  management (``uvicorn_worker.UvicornWorker``, the ``uvicorn-worker`` package);
- ``gunicorn``: gunicorn's own ASGI worker (``-k asgi``, gunicorn 25 and later).
"""

from __future__ import annotations

from asgi_bench.servers.base import ServerSpec
from asgi_bench.servers.uvicorn import PROFILE_RULES as UVICORN_RULES

_COMMON = dict(
    bind=("--bind", "{host}:{port}"),
    tls_bind=("--bind", "{host}:{port}", "--certfile", "{certfile}", "--keyfile", "{keyfile}"),
    # gunicorn's default is one worker; asked for 1, the flag is left out like the others'.
    workers=("--workers", "{workers}"),
)

GUNICORN_UVICORN = ServerSpec(
    name="gunicorn-uvicorn",
    module="uvicorn_worker",
    distribution="gunicorn",  # run.json's packages has uvicorn-worker's and uvicorn's
    install_hint="pip install gunicorn uvicorn-worker",
    command=(
        "-m",
        "gunicorn",
        "{app}",
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--log-level",
        "warning",
    ),
    notes="gunicorn's arbiter + uvicorn workers (uvloop, httptools where installed)",
    profile_rules=(*UVICORN_RULES, (r"\((?:uvicorn_worker|gunicorn)/", "glue")),
    **_COMMON,  # type: ignore[arg-type]
)

GUNICORN_ASGI = ServerSpec(
    name="gunicorn",
    module="gunicorn.workers.gasgi",
    distribution="gunicorn",
    install_hint="pip install 'gunicorn>=25'",
    command=(
        "-m",
        "gunicorn",
        "{app}",
        "--worker-class",
        "asgi",
        "--asgi-loop",
        "auto",
        "--log-level",
        "warning",
    ),
    notes="gunicorn's own ASGI worker (-k asgi), uvloop where installed",
    # Its HTTP/2 is marked beta; h1 stays on offer (ALPN's answer says which it chose, and
    # in cleartext "both" serves an HTTP/1.1 request too: the readiness GET and the harness's
    # reads of the middleware are HTTP/1.1; "prior-knowledge" alone answers them 400).
    http2=("--http-protocols", "h2,h1", "--http2-cleartext", "both"),
    # --profile: the parser and the byte-level protocol; building the scope is glue.
    profile_rules=(
        (r"ASGIProtocol\._(?:build_http_scope|handle_http_request) \(gunicorn/", "glue"),
        (r"\(gunicorn/(?:asgi/parser\.py|asgi/protocol\.py|http/)", "protocol"),
        (r"\(gunicorn/", "glue"),
    ),
    **_COMMON,  # type: ignore[arg-type]
)
