"""Large: GET a 1 MiB answer and check every byte; ``/`` sent whole from memory
(``LargeUser``, ``LargeOpen``), ``/file`` sent as a file where the server offers the
pathsend extension (``LargeFileUser``, ``LargeFileOpen``)."""

from __future__ import annotations

from typing import Any

from asgi_bench.apps.large import PAYLOAD
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody


class Large(Requests):
    path = "/"

    def call(self, client: Any) -> int:
        body = self.get(client, self.path)
        if body != PAYLOAD:
            raise WrongBody(f"got {len(body)} bytes, not the {len(PAYLOAD)} expected")
        return len(body)


class LargeFile(Large):
    name = path = "/file"


class LargeUser(Large, ClosedUser):
    pass


class LargeOpen(Large, OpenUser):
    pass


class LargeFileUser(LargeFile, ClosedUser):
    pass


class LargeFileOpen(LargeFile, OpenUser):
    pass
