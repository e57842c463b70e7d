"""The app a server imports when the harness runs with metrics: ``collectors.wrapped:app``.

The target app and the label values come from the environment, set by the harness:
``ASGI_BENCH_TARGET`` (``pkg.module:app``), ``ASGI_BENCH_SERVER``, ``ASGI_BENCH_APP``.
The target module's ``ROUTES`` table, if it has one, gives the route labels.
"""

from __future__ import annotations

import importlib
import os

from asgi_bench.collectors.middleware import PrometheusMiddleware

_module_name, _, _attribute = os.environ["ASGI_BENCH_TARGET"].partition(":")
_module = importlib.import_module(_module_name)

app = PrometheusMiddleware(
    getattr(_module, _attribute),
    server=os.environ.get("ASGI_BENCH_SERVER", ""),
    app_name=os.environ.get("ASGI_BENCH_APP", ""),
    routes=getattr(_module, "ROUTES", None),
)
