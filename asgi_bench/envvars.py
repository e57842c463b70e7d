"""The environment variables the harness shares with the processes it starts: each name
once, here. Locust's processes (``loadtests/``), the middleware's wrapped app
(``collectors/``) and the apps read them and must not import the harness, so this module
imports nothing.
"""

# To Locust's processes (loadtests/recorder.py, the Locust files).
RECORD_DIR = "ASGI_BENCH_RECORD_DIR"  # where the recorder writes; unset: a run by hand
WARMUP = "ASGI_BENCH_WARMUP"  # seconds from test start to the window
DURATION = "ASGI_BENCH_DURATION"  # the window's seconds
STOP_TIMEOUT = "ASGI_BENCH_STOP_TIMEOUT"  # seconds the users get to finish at the stop
LOAD = "ASGI_BENCH_LOAD"  # the load shape: closed or open
SOURCE_ADDRESS = "ASGI_BENCH_SOURCE_ADDRESS"  # a worker's own loopback address (--bind)
DRIVER_CPUS = "ASGI_BENCH_DRIVER_CPUS"  # --processes: worker k pins itself to the k-th CPU
SLEEP_MS = "ASGI_BENCH_SLEEP_MS"  # the sleep workload's known delay
RATE_PER_USER = "ASGI_BENCH_RATE_PER_USER"  # loadtests/fixed_rate.py's pace
HTTP = "ASGI_BENCH_HTTP"  # 2: the lean users speak HTTP/2 (loadtests/client.py); unset: 1.1
STREAMS = "ASGI_BENCH_STREAMS"  # HTTP/2: the users (or slots) sharing one connection

# To the server (collectors/wrapped.py, apps/lifespan.py).
TARGET = "ASGI_BENCH_TARGET"  # the app the middleware wraps, pkg.module:app
SERVER = "ASGI_BENCH_SERVER"  # the server config's name, a label
APP = "ASGI_BENCH_APP"  # the workload's name, a label
RAW_PATHS = "ASGI_BENCH_RAW_PATHS"  # 0: raw paths stay out of the labels
LIFESPAN_MARKER = "ASGI_BENCH_LIFESPAN_MARKER"  # the file lifespan shutdown writes
DB_DSN = "ASGI_BENCH_DB_DSN"  # the db workload's PostgreSQL (apps/db.py)
TIME_CALLS = "ASGI_BENCH_TIME_CALLS"  # 1: collectors/calls.py times send and receive (--profile)
PURE_MIDDLEWARE = "ASGI_BENCH_PURE_MIDDLEWARE"  # 1: the Python middleware, not the compiled one
CACHE = "ASGI_BENCH_CACHE"  # where the compiled middleware is built (collectors/compiled.py)

# To the harness in a container (the Dockerfile's build argument).
GIT_SHA = "ASGI_BENCH_GIT_SHA"  # the sha of a checkout that is not there to ask
