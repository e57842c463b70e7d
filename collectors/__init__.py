"""What runs inside the measured server, and nothing else: the Prometheus ASGI middleware,
its per-request store, its exposition and its route labels. The harness-side samplers and
the reader of the middleware's state live in :mod:`asgi_bench.run`."""

from asgi_bench.collectors.compiled import activate

activate(__path__)  # the compiled middleware first, where a build of these sources exists
