"""One HTTP/2 GET on a connected socket, for the harness's own probes (blocking, stdlib
sockets; the load's HTTP/2 client is ``loadtests/rawh2.py``, on gevent).

Example::

    with socket.create_connection(("127.0.0.1", 8000), timeout=5) as sock:
        status, detail = http2_get(sock, "127.0.0.1:8000", "http", "/")
    # (200, "HTTP/2 200, 11 bytes"), or (None, "the server answered HTTP/1: HTTP/1.1 400 ...")
"""

from __future__ import annotations

import socket

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def http2_get(
    sock: socket.socket, authority: str, scheme: str, path: str
) -> tuple[int | None, str]:
    """(status, what was seen) of one GET over HTTP/2 on ``sock``; status None when the
    server did not answer in HTTP/2, and then the detail says what it did."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    headers = [(":method", "GET"), (":scheme", scheme), (":authority", authority), (":path", path)]
    conn.send_headers(stream, headers, end_stream=True)
    status: int | None = None
    length, first = 0, True
    try:
        sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65536)
            if not data:
                return None, "the server closed the connection" + (
                    " without an HTTP/2 frame" if first else " mid-answer"
                )
            if first and data.startswith(b"HTTP/"):
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                return None, f"the server answered HTTP/1: {line}"
            first = False
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    length += len(event.data)
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                    return status, f"HTTP/2 {status}, {length} bytes"
                elif isinstance(event, h2.events.StreamReset | h2.events.ConnectionTerminated):
                    return None, f"HTTP/2 ended without an answer ({type(event).__name__})"
            sock.sendall(conn.data_to_send())
    except h2.exceptions.ProtocolError as exc:
        return None, f"not HTTP/2: {type(exc).__name__}: {exc}"[:200]
