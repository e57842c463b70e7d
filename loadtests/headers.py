"""Headers: GET / with the app's 19 request headers (20 with Host; a 1 KB cookie among them),
checking the answer's body and each of its headers; closed loop (``HeadersUser``) or open
model (``HeadersOpen``). HTTP/1.1 only: the headers go on the wire as written here."""

from __future__ import annotations

from typing import Any

from asgi_bench.apps.headers import BODY, REQUEST_HEADERS, RESPONSE_HEADERS
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody

WIRE = b"".join(b"%s: %s\r\n" % pair for pair in REQUEST_HEADERS)


class Headers(Requests):
    def call(self, client: Any) -> int:
        seen: list[tuple[bytes, bytes]] = []
        body = self.get_with_headers(client, "/", WIRE, seen)
        if body != BODY:
            raise WrongBody(f"got {body[:40]!r}")
        answered = dict(seen)
        for name, value in RESPONSE_HEADERS:
            if answered.get(name) != value:
                raise WrongBody(f"response header {name.decode()}: {answered.get(name)!r}")
        return len(body)


class HeadersUser(Headers, ClosedUser):
    pass


class HeadersOpen(Headers, OpenUser):
    pass
