"""Hello World: GET / and check every body; closed loop (``HelloUser``, as fast as possible)
or open model (``HelloOpen``, at a fixed rate), the same request either way."""

from __future__ import annotations

from typing import Any

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody

EXPECTED = b"Hello World"


class Hello(Requests):
    def call(self, client: Any) -> int:
        body = self.get(client, "/")
        if body != EXPECTED:
            raise WrongBody(f"got {body[:40]!r}")
        return len(body)


class HelloUser(Hello, ClosedUser):
    pass


class HelloOpen(Hello, OpenUser):
    pass
