"""The app a server imports when the harness runs with metrics:
``asgi_bench.collectors.wrapped:app``.

The target app and the label values come from the environment, set by the harness:
``ASGI_BENCH_TARGET`` (``pkg.module:app``), ``ASGI_BENCH_SERVER``, ``ASGI_BENCH_APP``, and
``ASGI_BENCH_RAW_PATHS=0`` to keep raw paths out of the labels, ``ASGI_BENCH_TIME_CALLS=1`` to
time the app's awaits of the server's send and receive too (--profile). The target module's
``ROUTES`` table, if it has one, gives the route labels.
"""

from __future__ import annotations

import importlib
import os

from asgi_bench import envvars
from asgi_bench.collectors.calls import CallTimingMiddleware
from asgi_bench.collectors.middleware import PrometheusMiddleware
from asgi_bench.system.importer import import_from_string, split_import_string

_target = os.environ[envvars.TARGET]
_module = importlib.import_module(split_import_string(_target)[0])

# --profile: the split of in-app time between the app and the server's send/receive too.
Middleware = (
    CallTimingMiddleware if os.environ.get(envvars.TIME_CALLS) == "1" else PrometheusMiddleware
)
app = Middleware(
    import_from_string(_target),
    server=os.environ.get(envvars.SERVER, ""),
    app_name=os.environ.get(envvars.APP, ""),
    routes=getattr(_module, "ROUTES", None),
    raw_paths=os.environ.get(envvars.RAW_PATHS, "1") != "0",
)
