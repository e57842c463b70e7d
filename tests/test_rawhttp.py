"""The lean client reads answer after answer on one connection with one parser: keep-alive,
chunked, a closing answer and the headers workload's own parser, against a scripted server on
loopback."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

import httptools
import pytest

from asgi_bench.loadtests.rawhttp import Connection

LENGTH = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst"
CHUNKED = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n"
CLOSING = b"HTTP/1.1 201 Created\r\nconnection: close\r\ncontent-length: 5\r\n\r\nthird"
HEADED = b"HTTP/1.1 200 OK\r\nx-seen: yes\r\ncontent-length: 6\r\n\r\nheaded"
RESET = b""  # no answer: the connection is reset (SO_LINGER 0), not closed


class Scripted:
    """Answers the requests it reads, in order, with ``answers``; counts connections. An
    answer of None closes the connection instead, as a server does to an idle keep-alive one;
    :data:`RESET` resets it."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = list(answers)
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                buffered = b""
                while self.answers:
                    while b"\r\n\r\n" not in buffered:
                        data = conn.recv(4096)
                        if not data:
                            break
                        buffered += data
                    if b"\r\n\r\n" not in buffered:
                        break  # the client closed this connection
                    buffered = buffered.split(b"\r\n\r\n", 1)[1]
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    if answer is RESET:
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        break
                    conn.sendall(answer)
                    if b"connection: close" in answer:
                        break


@contextlib.contextmanager
def scripted(answers: list[bytes | None]) -> Iterator[Scripted]:
    server = Scripted(answers)
    try:
        yield server
    finally:
        server.listener.close()
        server.thread.join(timeout=5)


def read_through(answers: list[bytes | None], count: int) -> tuple[list[tuple[int, bytes]], int]:
    """``count`` GETs on one client to a server scripted with ``answers``: what they read,
    and how many connections the server accepted."""
    with scripted(answers) as server:
        connection = Connection("127.0.0.1", server.port)
        try:
            read = [connection.request(b"GET", b"/") for _ in range(count)]
        finally:
            connection.close()
        return read, server.connections


def test_answers_of_each_framing_are_read_one_after_another_on_one_connection():
    read = [(200, b"first"), (200, b"second"), (200, b"first")]
    assert read_through([LENGTH, CHUNKED, LENGTH], 3) == (read, 1)


def test_a_closing_answer_is_read_and_the_next_request_goes_on_a_new_connection():
    read = [(200, b"second"), (201, b"third"), (200, b"first")]
    assert read_through([CHUNKED, CLOSING, LENGTH], 3) == (read, 2)


def test_a_keep_alive_connection_closed_by_the_server_is_retried_on_a_new_one():
    assert read_through([LENGTH, None, CHUNKED], 2) == ([(200, b"first"), (200, b"second")], 2)


def test_a_keep_alive_connection_reset_before_an_answer_is_retried_on_a_new_one():
    assert read_through([LENGTH, RESET, CHUNKED], 2) == ([(200, b"first"), (200, b"second")], 2)


def fails_then_reconnects(
    first: bytes | None, error: type[Exception], match: str | None = None
) -> None:
    """A GET answered with ``first`` raises ``error`` and is not sent again (the server's
    next answer goes to the next GET), which reads on a new connection."""
    with scripted([first, LENGTH]) as server:
        connection = Connection("127.0.0.1", server.port)
        try:
            with pytest.raises(error, match=match):
                connection.request(b"GET", b"/")
            assert connection.request(b"GET", b"/") == (200, b"first")
        finally:
            connection.close()
    assert server.connections == 2


def test_a_new_connection_closed_before_an_answer_fails_its_request_unsent_again():
    # Not a stale keep-alive connection: the server took the request and dropped it.
    fails_then_reconnects(None, ConnectionError, "before answering")


def test_a_request_that_reads_headers_leaves_the_connections_own_parser_in_step():
    with scripted([LENGTH, HEADED, CHUNKED]) as server:
        connection = Connection("127.0.0.1", server.port)
        seen: list[tuple[bytes, bytes]] = []
        first = connection.request(b"GET", b"/")
        headed = connection.request(b"GET", b"/h", seen=seen)
        last = connection.request(b"GET", b"/")
        assert (first, headed, last) == ((200, b"first"), (200, b"headed"), (200, b"second"))
        assert (b"x-seen", b"yes") in seen
        assert server.connections == 1
        connection.close()


def test_after_an_answer_the_parser_refused_the_next_request_reads_on_a_new_connection():
    fails_then_reconnects(b"garbage\r\n\r\n", httptools.HttpParserError)


def test_each_kind_of_request_has_its_own_head():
    connection = Connection("127.0.0.1", 8000)
    assert (
        connection._head(b"GET", b"/", b"", b"")
        == b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
    )
    assert connection._head(b"POST", b"/u", b"X-A: 1\r\n", b"abc") == (
        b"POST /u HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-A: 1\r\nContent-Length: 3\r\n\r\n"
    )
    assert len(connection.heads) == 2


def test_an_answer_cut_short_fails_its_request_and_is_not_sent_again():
    # The server has the request and began to answer it: sending it again would serve two
    # requests where the driver counts one.
    cut = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nfi"
    fails_then_reconnects(cut, ConnectionError, "mid-answer")
