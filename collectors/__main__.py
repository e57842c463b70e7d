"""``python -m asgi_bench.collectors``: compile the middleware now (scripts/install does)."""

import sys

from asgi_bench.collectors.compiled import BuildError, build

try:
    print(build())
except BuildError as exc:
    # The pure-Python middleware is a valid outcome, never a failed install.
    print(f"the middleware stays pure Python: {exc}", file=sys.stderr)
