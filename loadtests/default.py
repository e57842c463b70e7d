"""The default Locust file for a user's own app: GET / and expect a 2xx; closed loop
(``DefaultUser``) or open model (``DefaultOpen``)."""

from __future__ import annotations

from typing import Any

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests


class Default(Requests):
    def call(self, client: Any) -> int:
        return len(self.get(client, "/"))


class DefaultUser(Default, ClosedUser):
    pass


class DefaultOpen(Default, OpenUser):
    pass
