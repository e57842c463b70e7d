"""Lifespan: every request reads the state that startup built, and checks it.

A server without lifespan (daphne) still answers: the app says ``startup_complete: false``
and builds the state lazily, which is consistent and so not an error. The harness reports
the missing lifespan support in its capability table, not as failed requests.
"""

from __future__ import annotations

import json
from typing import Any

from asgi_bench.apps.lifespan import EXPECTED_CHECKSUM, ITEMS
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.support import WrongBody


def check(state: Any) -> str:
    """Why a state answer is wrong, or ``""``."""
    if state.get("checksum") != EXPECTED_CHECKSUM or state.get("items") != ITEMS:
        return f"bad state {state!r:.80}"
    if state.get("startup_complete") != (state.get("state_source") != "lazy"):
        return f"inconsistent startup flag {state!r:.80}"
    return ""


class Lifespan(Requests):
    def call(self, client: Any) -> int:
        body = self.get(client, "/")
        try:
            state = json.loads(body)
        except ValueError:
            raise WrongBody("not JSON") from None
        problem = check(state)
        if problem:
            raise WrongBody(problem)
        return len(body)


class LifespanUser(Lifespan, ClosedUser):
    pass


class LifespanOpen(Lifespan, OpenUser):
    pass
