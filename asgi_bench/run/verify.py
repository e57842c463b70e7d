"""The verify step: every cell's answers checked before any load, as TechEmpower's
``--mode verify`` does.

For each of the workload's :class:`~asgi_bench.expect.Expect` values, one request goes out
on a fresh HTTP/1.1 connection, parsed by h11, which holds the server to the framing it
declared: a body shorter than its Content-Length is an error, bytes after it are counted.
A cell whose answers differ from what its workload expects is failed with what differed,
and gets no load. Beside them, HTTP conformance: each GET asked as HEAD must answer the
same status with no body, and a path the app does not serve must answer 404. A server
that fails those (daphne sends a streamed body after a HEAD answer) is noted in the row and
the capability table, and still measured: its load never sends them.

Example::

    verify(get_workload("hello"), "http://127.0.0.1:8000")
    # [Observation("verified", True, "1 checks passed"),
    #  Observation("conforms", True, "2 checks passed")]
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import h11

from asgi_bench.expect import NOT_FOUND, Expect, made
from asgi_bench.run.capabilities import Observation
from asgi_bench.system.http import INSECURE
from asgi_bench.workloads import Workload

TIMEOUT_S = 10.0


@dataclass
class Answer:
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    after: int = 0  # bytes that came after the end its framing declared
    problem: str = ""  # the connection failed or the server broke HTTP/1.1


def exchange(base_url: str, expect: Expect) -> Answer:
    """Send ``expect``'s request on a new connection and read the whole answer."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path.rstrip("/") + expect.path).encode()
    headers = [(b"host", f"{host}:{port}".encode()), *expect.headers, (b"connection", b"close")]
    sent = made(expect.send)
    if sent or expect.method == "POST":
        headers.append((b"content-length", b"%d" % len(sent)))
    client = h11.Connection(h11.CLIENT)
    answer = Answer()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as raw:
            sock = raw
            if parts.scheme == "https":
                sock = INSECURE.wrap_socket(raw, server_hostname=host)
            request = h11.Request(method=expect.method, target=target, headers=headers)
            sock.sendall(client.send(request) or b"")
            if sent:
                sock.sendall(client.send(h11.Data(data=sent)) or b"")
            sock.sendall(client.send(h11.EndOfMessage()) or b"")
            _read(sock, client, answer)
    except (OSError, h11.ProtocolError) as exc:
        answer.problem = f"{type(exc).__name__}: {exc}"[:200]
    return answer


def _read(sock: socket.socket, client: h11.Connection, answer: Answer) -> None:
    body = bytearray()
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            client.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            answer.status = event.status_code
            answer.headers = {name.lower(): value for name, value in event.headers}
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        elif isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("the server closed the connection before answering")
    answer.body = bytes(body)
    # What h11 already holds past the end, and whatever else comes before the close.
    answer.after = len(client.trailing_data[0])
    while chunk := sock.recv(65536):
        answer.after += len(chunk)


def differences(expect: Expect, answer: Answer) -> list[str]:
    """What in ``answer`` is not what ``expect`` says, each as a short phrase."""
    said = expect.describe()
    if answer.problem:
        return [f"{said}: {answer.problem}"]
    found = []
    if answer.status != expect.status:
        found.append(f"status {answer.status}, expected {expect.status}")
    content_type = answer.headers.get(b"content-type", b"").decode("latin-1")
    if expect.content_type and not content_type.startswith(expect.content_type):
        found.append(f"content-type {content_type!r}, expected {expect.content_type}")
    framing = _framing(answer)
    if expect.framing != "any" and framing != expect.framing:
        found.append(f"framing {framing}, expected {expect.framing}")
    if answer.after:
        found.append(f"{answer.after} bytes after the end its framing declared")
    body = None if expect.body is None else made(expect.body)
    if body is not None and answer.body != body:
        found.append(
            f"body {len(answer.body)} bytes {answer.body[:24]!r}, "
            f"expected {len(body)} bytes {body[:24]!r}"
        )
    if expect.contains and expect.contains not in answer.body:
        found.append(f"body without {expect.contains!r}")
    if expect.fields:
        found.extend(_field_differences(expect.fields, answer.body))
    for name, value in expect.answer_headers:
        if answer.headers.get(name) != value:
            found.append(
                f"header {name.decode()}: {answer.headers.get(name)!r}, expected {value!r}"
            )
    return [f"{said}: {', '.join(found)}"] if found else []


def _field_differences(fields: tuple[tuple[str, object], ...], body: bytes) -> list[str]:
    try:
        found = json.loads(body)
    except ValueError:
        return [f"body {body[:24]!r} is not JSON"]
    if not isinstance(found, dict):
        return [f"body {body[:24]!r} is not a JSON object"]
    return [
        f"{name}: {found.get(name)!r}, expected {value!r}"
        for name, value in fields
        if found.get(name) != value
    ]


def _framing(answer: Answer) -> str:
    if b"chunked" in answer.headers.get(b"transfer-encoding", b"").lower():
        return "chunked"
    return "length" if b"content-length" in answer.headers else "close"


def as_head(expect: Expect) -> Expect:
    """The same request as HEAD: same status, no body (its framing headers may stay)."""
    return replace(
        expect, method="HEAD", body=None, contains=b"", fields=(), framing="any", head=False
    )


def checks(workload: Workload) -> tuple[list[Expect], list[Expect]]:
    """The verify step's requests for ``workload``: those its load sends, and the HTTP
    conformance checks beside them (each GET as HEAD, an unknown path); none for a user's
    own app."""
    if not workload.verify:
        return [], []
    heads = [as_head(e) for e in workload.verify if e.head and e.method == "GET"]
    return list(workload.verify), [*heads, NOT_FOUND]


def verify(workload: Workload, base_url: str) -> list[Observation]:
    """The verify step's observations of the server at ``base_url`` serving ``workload``:
    ``verified`` (the answers its load will get are right: a no fails the cell) and
    ``conforms`` (HEAD and 404 as HTTP says: a no is noted, the load never sends them)."""
    seen = []
    for capability, sent in zip(("verified", "conforms"), checks(workload), strict=True):
        found = [d for expect in sent for d in differences(expect, exchange(base_url, expect))]
        detail = "; ".join(found)[:600] if found else f"{len(sent)} checks passed"
        seen.append(Observation(capability, not found, detail))
    return seen
