"""Large answers: 1 MiB, sent whole from memory, or as a file where the server offers it.

Routes:
    GET /       -> 200 application/octet-stream, :data:`SIZE` bytes in one
                   ``http.response.body`` (with its Content-Length)
    GET /file   -> the same bytes from a file: ``http.response.pathsend`` when the scope's
                   extensions list it (the server reads and sends the file itself), else read
                   here and sent as one body; the ``x-sent-as`` header says which
                   (``pathsend`` or ``body``), so the harness observes the capability

The file is written once per machine, atomically, into the temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from asgi_bench.apps._asgi import Receive, Scope, Send, not_found, unsupported_lifespan

ROUTES = ("/", "/file")

SIZE = 1 << 20
PAYLOAD = bytes(range(256)) * (SIZE // 256)  # the driver checks every byte of it
PATHSEND = "http.response.pathsend"
FILE = Path(tempfile.gettempdir()) / f"asgi-bench-large-{SIZE}.bin"


def _start(sent_as: bytes) -> dict[str, object]:
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", b"%d" % SIZE),
        (b"x-sent-as", sent_as),
    ]
    return {"type": "http.response.start", "status": 200, "headers": headers}


_WHOLE = _start(b"body")
_BODY = {"type": "http.response.body", "body": PAYLOAD}


def file_path() -> str:
    """The file of :data:`PAYLOAD`, written if it is not there whole yet."""
    if not (FILE.is_file() and FILE.stat().st_size == SIZE):
        partial = FILE.with_name(f"{FILE.name}.{os.getpid()}.tmp")
        partial.write_bytes(PAYLOAD)
        os.replace(partial, FILE)  # whole or not at all, whichever worker writes first
    return str(FILE)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await unsupported_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/":
        await send(_WHOLE)
        await send(_BODY)
    elif path == "/file":
        if PATHSEND in (scope.get("extensions") or {}):
            await send(_start(b"pathsend"))
            await send({"type": PATHSEND, "path": file_path()})
        else:
            await send(_WHOLE)
            await send({"type": "http.response.body", "body": Path(file_path()).read_bytes()})
    else:
        await not_found(send)
