"""Typed aliases: ASGI's, shared by the apps, the middleware and the tests (as starlette's
``types.py``: an app is ``async def app(scope, receive, send)``), and the few words a result
is made of, each a closed set of strings that JSON keeps as they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Status = Literal["ok", "failed", "unsupported"]  # a repeat's or a row's
Bound = Literal["server", "driver", "neither"]  # who limited it; "driver": driver-limited
CountCheck = Literal["ok", "mismatch", "not made"]  # the middleware's count against the driver's
LoadShape = Literal["closed", "open", "native"]
