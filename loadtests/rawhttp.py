"""A lean keep-alive HTTP/1.1 client for both load shapes: a gevent socket, a request built
once, and httptools (the C parser uvicorn uses) to read the answer.

Every request is ``METHOD PATH HTTP/1.1``, ``Host: HOST:PORT`` and, with a body or for a
POST, ``Content-Length: N`` (:data:`asgi_bench.loadtests.REQUEST_HEAD`); nothing else. The
driver pays its cost per request: geventhttpclient's general client spends about 130 µs of
CPU on a hello-world request (header objects, regular expressions, a ``select`` to test a
pooled socket), this one about 25 µs. It speaks just what the benchmark needs: one request
at a time per connection, ``Content-Length`` or chunked answers, TLS without verification
(the harness's certificate is made at run time).

Example::

    connection = Connection("127.0.0.1", 8000)
    status, body = connection.request(b"GET", b"/")
"""

from __future__ import annotations

import os
from typing import Any

import httptools
from gevent import socket

from asgi_bench import envvars
from asgi_bench.loadtests.support import BadStatus
from asgi_bench.system.http import INSECURE

BIG_BODY = 1 << 16  # bytes: a request body above it is sent on its own

# A worker started with ``asgi-bench worker --bind ADDR`` sends its load from that address.
SOURCE = (os.environ[envvars.SOURCE_ADDRESS], 0) if os.environ.get(envvars.SOURCE_ADDRESS) else None


class _Answer:
    """httptools callbacks, collecting one response at a time. A connection keeps its answer
    and parser for its life (the parser starts over after each complete message): the two
    refer to each other, and a pair per request was a cycle per request, left for Python's
    collector to find (it ran eight times as often)."""

    __slots__ = ("body", "done", "keep_alive", "parser", "status")

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.parser: Any = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True
        # Only valid here: the parser resets once the message is complete (and bytes after
        # it would start the next message's status).
        self.keep_alive = self.parser.should_keep_alive()
        self.status = self.parser.get_status_code()


class _AnswerWithHeaders(_Answer):
    """... and its headers too, for a workload that checks them (httptools calls
    ``on_header`` only on an object that has it: the others pay nothing)."""

    __slots__ = ("headers",)

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[tuple[bytes, bytes]] = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))


class Connection:
    """One keep-alive connection; reconnects after the server closes it."""

    def __init__(self, host: str, port: int, tls: bool = False, timeout: float = 30.0) -> None:
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self.authority = f"{host}:{port}".encode()
        self.sock: Any = None
        self.answer, self.headed = _Answer(), _AnswerWithHeaders()
        self.heads: dict[tuple[bytes, bytes, bytes, int], bytes] = {}

    def _connect(self) -> Any:
        sock = socket.create_connection(
            (self.host, self.port), timeout=self.timeout, source_address=SOURCE
        )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = INSECURE.wrap_socket(sock, server_hostname=self.host)
        # No timeout once connected: gevent arms a timer for every send and receive of a
        # socket with one (a sixth of the driver's time on a hello request). An answer that
        # never comes is the stop's to count: unfinished, when the test ends.
        sock.settimeout(None)
        return sock

    def request(
        self,
        method: bytes,
        path: bytes,
        body: bytes = b"",
        headers: bytes = b"",
        seen: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body). ``headers``: more
        request headers, ``Name: value\r\n`` lines; ``seen``: a list that gets the answer's
        headers (lower-case names)."""
        head = self.heads.get((method, path, headers, len(body)))
        if head is None:
            head = self._head(method, path, headers, body)
        # A large body goes after its head as it is: not copied into one buffer with it.
        payload, rest = (head + body, b"") if len(body) <= BIG_BODY else (head, body)
        while True:
            reused = self.sock is not None
            if not reused:
                self.sock = self._connect()
            try:
                try:
                    # One send() takes a request of a few hundred bytes whole; gevent's
                    # sendall spends as long again in its own bookkeeping around that call.
                    sent = self.sock.send(payload)
                    if sent < len(payload):
                        self.sock.sendall(payload[sent:])
                    if rest:
                        self.sock.sendall(rest)
                except ConnectionError as error:
                    raise _Closed() from error  # no answer yet: sent again below if kept alive
                return self._read(seen)
            except _Closed:
                # A kept-alive connection the server closed while idle: the request goes
                # again, once, on a new one. Not on a new connection that closed before an
                # answer, nor after an answer began (a plain ConnectionError): the server
                # had the request, and sending it twice counts one where it served two.
                self.close()
                if not reused:
                    raise
            except BaseException:
                self.close()  # a parser that failed stays failed: never reuse it
                raise

    def _head(self, method: bytes, path: bytes, headers: bytes, body: bytes) -> bytes:
        """The request line and headers, built once per kind of request: a workload sends a
        handful of kinds, each many thousand times."""
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, self.authority)
        if headers:
            head += headers
        if body or method == b"POST":
            head += b"Content-Length: %d\r\n" % len(body)
        head += b"\r\n"
        if len(self.heads) < 64:  # a workload with ever-new paths builds each one
            self.heads[(method, path, headers, len(body))] = head
        return head

    def _read(self, seen: list[tuple[bytes, bytes]] | None = None) -> tuple[int, bytes]:
        answer = self.answer if seen is None else self.headed
        answer.done = False
        parser = answer.parser
        if not self.tls:
            # The answer is never there the moment its request has gone: wait until it is,
            # as gevent's recv does after a recv that failed (EWOULDBLOCK), without the
            # failed call and the exception it raises, once a request.
            self.sock._wait(self.sock._read_event)
        first = True
        while not answer.done:
            try:
                data = self.sock.recv(65536)
            except ConnectionError as error:
                if first:
                    raise _Closed() from error  # reset before an answer began
                raise
            if not data:
                # Closed before an answer started: retried where the connection was kept alive.
                if first:
                    raise _Closed()
                raise ConnectionError("the server closed the connection mid-answer")
            first = False
            parser.feed_data(data)
        if not answer.keep_alive:
            self.close()
        if seen is not None and isinstance(answer, _AnswerWithHeaders):
            seen.extend(answer.headers)
            answer.headers.clear()
        body = b"".join(answer.body)
        answer.body.clear()  # a large answer is not held until the connection's next one
        return answer.status, body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            # A parser left mid-message (an error) must not read the next connection.
            self.answer, self.headed = _Answer(), _AnswerWithHeaders()


class Requests:
    """What a user of either load shape sends: requests under the host's ``prefix`` on a
    :class:`Connection`; a non-2xx answer raises :class:`BadStatus`. A workload writes
    :meth:`call`, one request and its checks."""

    prefix = ""

    def call(self, client: Any) -> int:
        """One request on ``client``; returns the response length, raises on failure."""
        raise NotImplementedError

    def get(self, client: Connection, path: str) -> bytes:
        """GET ``path`` (under the host's prefix); the body, or :class:`BadStatus`."""
        return self.send(client, b"GET", path)

    def send(self, client: Connection, method: bytes, path: str, body: bytes = b"") -> bytes:
        """``method path`` (under the host's prefix) with ``body``; the answer's body, or
        :class:`BadStatus`."""
        status, answer = client.request(method, (self.prefix + path).encode(), body)
        if not 200 <= status < 300:
            raise BadStatus(status)
        return answer

    def get_with_headers(
        self, client: Connection, path: str, headers: bytes, seen: list[tuple[bytes, bytes]]
    ) -> bytes:
        """GET ``path`` with more request ``headers``; the answer's headers go into ``seen``
        (an HTTP/1.1 connection: the headers workload's)."""
        status, answer = client.request(b"GET", (self.prefix + path).encode(), b"", headers, seen)
        if not 200 <= status < 300:
            raise BadStatus(status)
        return answer


class _Closed(ConnectionError):
    """The connection was closed or reset before the answer began: sent again once where the
    connection was kept alive from an earlier request."""

    def __init__(self) -> None:
        super().__init__("the server closed or reset the connection before answering")
