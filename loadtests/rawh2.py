"""A lean HTTP/2 client for both load shapes: one connection carries the requests of up to
``streams`` users (closed loop) or connection slots (open model) at once, each on a stream
of its own, with the same ``request(method, path, body) -> (status, body)`` as
:class:`~asgi_bench.loadtests.rawhttp.Connection`, so every workload's ``call`` runs on it
unchanged.

Over TLS it offers ``h2`` alone by ALPN and refuses a server that picks anything else; on
plain TCP it speaks h2c with prior knowledge (RFC 9113 section 3.3: the connection preface
first, no Upgrade). A server that answers HTTP/1.1 instead fails every request with
:class:`NotHttp2`: a row is never measured as h2 when the server spoke HTTP/1.1.

The frames are the ``h2`` library's (pure Python, so the driver pays more per request than
over HTTP/1.1: ``asgi-bench driver-check --http 2`` measures it). One reader greenlet per
connection hands each answer to the greenlet waiting on its stream.

Example::

    connection = H2Connection("127.0.0.1", 8000)
    status, body = connection.request(b"GET", b"/")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from gevent import socket, ssl
from gevent.event import AsyncResult, Event
from gevent.lock import Semaphore

from asgi_bench.loadtests.rawhttp import SOURCE

WINDOW = 2**24  # what we let the server send before it must wait: no stall on 100 KiB bodies
_ALPN = ssl.create_default_context()
_ALPN.check_hostname = False
_ALPN.verify_mode = ssl.CERT_NONE  # the harness's certificate is made at run time
_ALPN.set_alpn_protocols(["h2"])


# Our own headers are well-formed, and a server's are checked by the body checks that
# follow: h2's per-header validation and normalisation were half of its cost a request.
CONFIG = h2.config.H2Configuration(
    client_side=True,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
)


class NotHttp2(ConnectionError):
    """The server did not speak HTTP/2 on this connection (what it did is the message)."""


OnHeaders = Callable[[int], None] | None  # called with the status as the HEADERS arrive
OnData = Callable[[bytes], None] | None  # called with each DATA frame's bytes


class _Stream:
    __slots__ = ("body", "done", "on_data", "on_headers", "status")

    def __init__(self, on_headers: OnHeaders, on_data: OnData) -> None:
        self.status = 0
        self.body: list[bytes] = []
        self.done: AsyncResult[None] = AsyncResult()
        self.on_headers, self.on_data = on_headers, on_data


class H2Connection:
    """One HTTP/2 connection, shared by the greenlets that call :meth:`request` on it;
    connects on first use and again after the server closes it."""

    def __init__(self, host: str, port: int, tls: bool = False) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.scheme = b"https" if tls else b"http"
        self.authority = f"{host}:{port}".encode()
        self.sock: Any = None
        self.machine: h2.connection.H2Connection | None = None  # h2's state of the connection
        self.streams: dict[int, _Stream] = {}
        self.window_opened = Event()  # the server let us send more of a request body
        self._writing = Semaphore()  # one greenlet's frames on the wire at a time
        self._connecting = Semaphore()
        self._reader: gevent.Greenlet[Any, Any] | None = None
        self.holders = 0  # the greenlets sharing it (SharedH2.take)

    def request(
        self,
        method: bytes,
        path: bytes,
        body: bytes = b"",
        *,
        on_headers: OnHeaders = None,
        on_data: OnData = None,
    ) -> tuple[int, bytes]:
        """Send one request on a stream of its own and wait for its whole answer. A streamed
        answer is timed by ``on_headers(status)`` and ``on_data(chunk)``, called as its
        HEADERS and each DATA frame arrive."""
        conn = self._connected()
        stream_id = conn.get_next_available_stream_id()
        stream = self.streams[stream_id] = _Stream(on_headers, on_data)
        headers = [
            (b":method", method),
            (b":scheme", self.scheme),
            (b":authority", self.authority),
            (b":path", path),
        ]
        if body or method == b"POST":
            headers.append((b"content-length", b"%d" % len(body)))
        try:
            conn.send_headers(stream_id, headers, end_stream=not body)
            self._flush()
            if body:
                self._send_body(conn, stream_id, body)
            stream.done.get()
        finally:
            self.streams.pop(stream_id, None)
        return stream.status, b"".join(stream.body)

    def close(self) -> None:
        """Let go of the connection: closed once the last greenlet sharing it lets go (a
        user that stops, or one that drops its client after a failed request, must not
        end the requests of the others in flight on it)."""
        self.holders -= 1
        if self.holders <= 0:
            self.holders = 0
            self._shutdown()

    def _shutdown(self) -> None:
        sock, reader = self.sock, self._reader
        self.sock = self.machine = self._reader = None
        if reader is not None and reader is not gevent.getcurrent():
            reader.kill(block=False)
        if sock is not None:
            sock.close()
        self._fail(ConnectionError("the connection was closed"))

    def _connected(self) -> h2.connection.H2Connection:
        with self._connecting:  # the users sharing it wait for one handshake, not start many
            if self.machine is None:
                self._connect()
            assert self.machine is not None
            return self.machine

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), source_address=SOURCE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = _ALPN.wrap_socket(sock, server_hostname=self.host)
            chosen = sock.selected_alpn_protocol()
            if chosen != "h2":
                sock.close()
                raise NotHttp2(
                    f"ALPN chose {chosen}, not h2" if chosen else "no protocol chosen by ALPN"
                )
        conn = h2.connection.H2Connection(CONFIG)
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW})
        conn.increment_flow_control_window(WINDOW - 65_535)
        self.sock, self.machine = sock, conn
        self._flush()
        self._reader = gevent.spawn(self._read)

    def _flush(self) -> None:
        with self._writing:
            if self.machine is None or self.sock is None:
                raise ConnectionError("the connection was closed")
            data = self.machine.data_to_send()
            if data:
                self.sock.sendall(data)

    def _send_body(self, conn: h2.connection.H2Connection, stream_id: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            room = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if room <= 0:
                self.window_opened.clear()
                self.window_opened.wait()
                if self.machine is not conn:
                    raise ConnectionError("the connection was closed mid-body")
                continue
            chunk, view = view[:room], view[room:]
            conn.send_data(stream_id, chunk.tobytes(), end_stream=not view)
            self._flush()

    def _read(self) -> None:
        conn, sock = self.machine, self.sock
        spoke = False  # an HTTP/2 server's first frame is its SETTINGS
        try:
            while self.machine is conn:
                data = sock.recv(65536)
                if not data:
                    if not spoke:
                        raise NotHttp2("the server closed the connection without an HTTP/2 frame")
                    raise ConnectionError("the server closed the connection")
                if not spoke and data.startswith(b"HTTP/"):
                    status_line = bytes(data).split(b"\r\n", 1)[0].decode("latin-1")
                    raise NotHttp2(f"the server answered HTTP/1: {status_line}")
                spoke = True
                try:
                    events = conn.receive_data(data)  # type: ignore[union-attr]
                except h2.exceptions.ProtocolError as exc:
                    raise NotHttp2(f"not an HTTP/2 answer: {bytes(data[:40])!r}") from exc
                for event in events:
                    self._on(conn, event)
                self._flush()
        except Exception as exc:
            if self.machine is conn:
                self.sock = self.machine = self._reader = None
                sock.close()
            self._fail(exc)

    def _on(self, conn: Any, event: Any) -> None:
        if isinstance(event, h2.events.DataReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.body.append(event.data)
                if stream.on_data is not None:
                    stream.on_data(event.data)
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.ResponseReceived):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.status = int(dict(event.headers)[b":status"])
                if stream.on_headers is not None:
                    stream.on_headers(stream.status)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.done.set(None)
        elif isinstance(event, h2.events.StreamReset):
            stream = self.streams.get(event.stream_id)
            if stream is not None:
                stream.done.set_exception(ConnectionError(f"stream reset ({event.error_code})"))
        elif isinstance(event, h2.events.WindowUpdated):
            self.window_opened.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            raise ConnectionError(f"the server ended the connection ({event.error_code})")

    def _fail(self, exc: BaseException) -> None:
        """Every request still waiting on this connection fails with ``exc``."""
        self.window_opened.set()
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if not stream.done.ready():
                stream.done.set_exception(exc)


class SharedH2:
    """Hands out HTTP/2 connections, each to at most ``streams`` greenlets at once: the
    users (or connection slots) of one driver process multiplex their requests, ``streams``
    to a connection. A greenlet gives its share back with the connection's ``close()``.

    >>> pool = SharedH2("127.0.0.1", 8000, tls=False, streams=2)
    >>> a, b, c = pool.take(), pool.take(), pool.take()
    >>> (a is b, b is c)
    (True, False)
    >>> a.close(); pool.take() is a  # a share given back is handed out again
    True
    """

    def __init__(self, host: str, port: int, tls: bool, streams: int) -> None:
        self.host, self.port, self.tls, self.streams = host, port, tls, max(1, streams)
        self.connections: list[H2Connection] = []

    def take(self) -> H2Connection:
        connection = next((c for c in self.connections if 0 < c.holders < self.streams), None)
        if connection is None:
            self.connections = [c for c in self.connections if c.holders > 0]
            connection = H2Connection(self.host, self.port, self.tls)
            self.connections.append(connection)
        connection.holders += 1
        return connection
