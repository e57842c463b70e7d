from asgi_bench.servers.base import ServerSpec

GRANIAN = ServerSpec(
    name="granian",
    module="granian",
    install_hint="pip install granian",
    # The default interface is rsgi: an ASGI app would start and answer 500 to everything.
    command=("-m", "granian", "--interface", "asgi", "--log-level", "warning", "{app}"),
    bind=("--host", "{host}", "--port", "{port}"),
    # The key must be PKCS#8; asgi_bench.system.tls writes it that way.
    tls_bind=(
        "--host",
        "{host}",
        "--port",
        "{port}",
        "--ssl-certificate",
        "{certfile}",
        "--ssl-keyfile",
        "{keyfile}",
    ),
    workers=("--workers", "{workers}"),
    notes="--interface asgi (the rsgi default answers 500 to ASGI apps)",
    # --profile: its Python side and the Rust frames that hold the GIL are the ASGI glue;
    # the protocol runs in Rust threads without the GIL, which py-spy --gil does not sample.
    profile_rules=((r"\(granian/", "glue"),),
)
