from asgi_bench.servers.base import ServerSpec

_COMMON = dict(
    module="hypercorn",
    install_hint="pip install hypercorn",
    bind=("--bind", "{host}:{port}"),
    tls_bind=("--bind", "{host}:{port}", "--certfile", "{certfile}", "--keyfile", "{keyfile}"),
    workers=("--workers", "{workers}"),
    notes="lifespan always attempted; no flag to turn it off",
    # --profile: http_stream.py builds the scope and turns ASGI messages into events: glue.
    profile_rules=(
        (r"\(hypercorn/protocol/http_stream\.py", "glue"),
        (r"\(hypercorn/protocol/", "protocol"),
        (r"\(hypercorn/", "glue"),
    ),
)

HYPERCORN_ASYNCIO = ServerSpec(
    name="hypercorn",
    command=("-m", "hypercorn", "{app}", "--worker-class", "asyncio", "--log-level", "warning"),
    **_COMMON,  # type: ignore[arg-type]
)

HYPERCORN_UVLOOP = ServerSpec(
    name="hypercorn-uvloop",
    command=("-m", "hypercorn", "{app}", "--worker-class", "uvloop", "--log-level", "warning"),
    **_COMMON,  # type: ignore[arg-type]
)
