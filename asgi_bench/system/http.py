"""The harness's own small HTTP client (readiness, probes, scrapes): stdlib, loopback only.

Nothing the harness sends to loopback goes through a proxy: :func:`get` ignores
``http_proxy`` and its kind, and :func:`loopback_no_proxy` is what the harness adds to
``no_proxy`` so that its children (servers, Locust) and its in-process clients skip one too.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE  # our certificate is self-signed, made at run time

# Every name loopback goes by: the default 127.0.0.1, --server-host's ::1, localhost, and
# the rest of 127.0.0.0/8 for the clients that read CIDR entries (requests, websocket-client).
LOOPBACK = ("127.0.0.1", "localhost", "::1", "127.0.0.0/8")

# An empty ProxyHandler: urlopen() would honour http_proxy/https_proxy/all_proxy from the
# environment, and a company proxy cannot reach our 127.0.0.1 (it answers 502 for it).
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=INSECURE)
)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> Reply:
    """GET ``url``, never through a proxy; an HTTP error status is a reply (so is a body
    shorter than its Content-Length: what came of it), a network failure or an answer
    that is not HTTP raises ``OSError``."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            try:
                body = response.read()
            except http.client.IncompleteRead as exc:
                # The server answered, then broke its own framing: a reply still (a
                # readiness check needs its status); the verify step says what was wrong.
                body = exc.partial
            return Reply(response.status, dict(response.headers.items()), body)
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers.items()), exc.read())
    except http.client.HTTPException as exc:  # not HTTP at all: as a network failure
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc


def loopback_no_proxy(env: Mapping[str, str]) -> dict[str, str]:
    """``no_proxy`` and ``NO_PROXY`` for ``env`` with loopback added: the user's own entries
    (from either spelling: tools differ in which one they read) first, then each of
    :data:`LOOPBACK` not already there. Both get the same list, so no tool loses an entry."""
    given = f"{env.get('no_proxy', '')},{env.get('NO_PROXY', '')}".split(",")
    entries: list[str] = []
    for entry in (part.strip() for part in (*given, *LOOPBACK)):
        if entry and entry not in entries:
            entries.append(entry)
    value = ",".join(entries)
    return {"no_proxy": value, "NO_PROXY": value}
