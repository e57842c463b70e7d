from asgi_bench.servers.base import ServerSpec

# --profile: bytes to HTTP and back is the protocol; the ASGI task that runs the app is glue.
PROFILE_RULES = (
    (r"RequestResponseCycle\.run_asgi \(uvicorn/", "glue"),
    (r"\(uvicorn/protocols/", "protocol"),
    (r"\(uvicorn/", "glue"),
)

_COMMON = dict(
    module="uvicorn",
    install_hint="pip install 'uvicorn[standard]'",
    bind=("--host", "{host}", "--port", "{port}"),
    tls_bind=(
        "--host",
        "{host}",
        "--port",
        "{port}",
        "--ssl-certfile",
        "{certfile}",
        "--ssl-keyfile",
        "{keyfile}",
    ),
    workers=("--workers", "{workers}"),
    profile_rules=PROFILE_RULES,
)

UVICORN_UVLOOP = ServerSpec(
    name="uvicorn",
    command=(
        "-m",
        "uvicorn",
        "{app}",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ),
    notes="uvloop + httptools",
    **_COMMON,  # type: ignore[arg-type]
)

UVICORN_H11 = ServerSpec(
    name="uvicorn-h11",
    command=(
        "-m",
        "uvicorn",
        "{app}",
        "--loop",
        "asyncio",
        "--http",
        "h11",
        "--log-level",
        "warning",
        "--no-access-log",
    ),
    notes="asyncio + h11, pure Python",
    **_COMMON,  # type: ignore[arg-type]
)
