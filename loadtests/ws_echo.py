"""WebSocket echo: each user holds one connection and times echo round trips.

Events: ``CONNECT /ws`` (handshake, auxiliary) and ``WS /ws echo`` (one round trip, counted).
``WS_MESSAGE_BYTES`` sets the message size (default 64).
"""

from __future__ import annotations

import os
import ssl
import time
from typing import Any

import websocket
from locust import User, constant, task

from asgi_bench.loadtests import split_host
from asgi_bench.loadtests.closedloop import unfinished_if_killed
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.support import WrongBody, fire

MESSAGE_BYTES = int(os.environ.get("WS_MESSAGE_BYTES", "64"))


def open_socket(host: str, timeout: float) -> Any:
    """A WebSocket connection to the app's ``/ws`` under ``host`` (its prefix kept)."""
    scheme, hostname, port, prefix = split_host(host)
    url = f"{'wss' if scheme == 'https' else 'ws'}://{hostname}:{port}{prefix}/ws"
    return websocket.create_connection(
        url, timeout=timeout, sslopt={"cert_reqs": ssl.CERT_NONE}, enable_multithread=False
    )


def message(n: int) -> str:
    """The ``n``-th message: its number, padded to ``MESSAGE_BYTES``."""
    return f"{n:08d}".ljust(MESSAGE_BYTES, "x")


def mismatch(answer: Any, sent: str) -> WrongBody | None:
    return None if answer == sent else WrongBody(f"echo mismatch: {answer!r:.40}")


class WebSocketUser(User):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.ws: Any = None
        self.counter = 0
        self.connect()

    def connect(self) -> None:
        started = time.perf_counter()
        try:
            self.ws = open_socket(self.host or "", timeout=10)
        except Exception as exc:
            fire(self.environment, "CONNECT", "/ws", started, exception=exc)
            self.ws = None
            return
        fire(self.environment, "CONNECT", "/ws", started)

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()

    @task
    def echo(self) -> None:
        if self.ws is None:
            self.connect()
            if self.ws is None:
                time.sleep(0.1)  # do not spin on a server that refuses connections
                return
        self.counter += 1
        sent = message(self.counter)
        started = time.perf_counter()
        try:
            with unfinished_if_killed():
                self.ws.send(sent)
                answer = self.ws.recv()
        except Exception as exc:
            fire(self.environment, "WS", "/ws echo", started, exception=exc)
            self.ws = None
            return
        fire(self.environment, "WS", "/ws echo", started, len(sent), mismatch(answer, sent))


class WebSocketOpen(OpenUser):
    """Echo round trips at a fixed rate over one WebSocket connection per slot."""

    name = "/ws echo"
    request_type = "WS"

    def on_start(self) -> None:
        super().on_start()
        self.counter = 0

    def connect(self) -> Any:
        return open_socket(self.host or "", timeout=30)

    def call(self, client: Any) -> int:
        self.counter += 1
        sent = message(self.counter)
        client.send(sent)
        error = mismatch(client.recv(), sent)
        if error:
            raise error
        return len(sent)
