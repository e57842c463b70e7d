"""Database: GET /?id=N for a random row N of the seeded ``world`` table and check the row's
JSON byte for byte (the seed is a formula: no query on the driver's side); closed loop
(``DbUser``) or open model (``DbOpen``)."""

from __future__ import annotations

import random
from typing import Any

from asgi_bench.apps.db import ROWS, answer, random_number
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody


class Db(Requests):
    def call(self, client: Any) -> int:
        row = random.randint(1, ROWS)
        body = self.get(client, f"/?id={row}")
        if body != answer(row, random_number(row)):
            raise WrongBody(f"row {row}: got {body[:60]!r}")
        return len(body)


class DbUser(Db, ClosedUser):
    pass


class DbOpen(Db, OpenUser):
    pass
