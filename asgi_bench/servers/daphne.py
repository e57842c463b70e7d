from asgi_bench.servers.base import ServerSpec

DAPHNE = ServerSpec(
    name="daphne",
    module="daphne",
    install_hint="pip install daphne",
    command=("-m", "daphne", "-v", "0"),
    bind=("-b", "{host}", "-p", "{port}", "{app}"),
    tls_bind=(
        "-e",
        "ssl:{port}:interface={host}:privateKey={keyfile}:certKey={certfile}",
        "{app}",
    ),
    workers=None,
    supports=frozenset({"websocket", "tls"}),
    notes="no lifespan, no worker count, no loop choice",
    # --profile: Twisted parses HTTP and runs the reactor; daphne and asgiref make it ASGI.
    profile_rules=(
        (r"\(twisted/(?:web|protocols)/", "protocol"),
        (r"\(twisted/internet/", "loop"),
        (r"\(autobahn/", "protocol"),
        (r"\((?:daphne|asgiref)/", "glue"),
    ),
)
