"""JSON: GET / and check every body against the app's own serialisation of its page (the
same bytes: the app's separators are fixed); closed loop (``JsonUser``) or open model
(``JsonOpen``). Named jsonapi, not json: Locust puts this folder on the import path, where a
json.py would shadow the standard library's."""

from __future__ import annotations

from typing import Any

from asgi_bench.apps.jsonapi import body
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody

EXPECTED = body()


class Json(Requests):
    def call(self, client: Any) -> int:
        answer = self.get(client, "/")
        if answer != EXPECTED:
            raise WrongBody(f"got {answer[:40]!r}")
        return len(answer)


class JsonUser(Json, ClosedUser):
    pass


class JsonOpen(Json, OpenUser):
    pass
