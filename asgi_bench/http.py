"""The harness's own small HTTP client (readiness, probes, scrapes): stdlib, loopback only."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE  # our certificate is self-signed, made at run time


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> Reply:
    """GET ``url``; an HTTP error status is a reply, a network failure raises ``OSError``."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=INSECURE) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers.items()), exc.read())
