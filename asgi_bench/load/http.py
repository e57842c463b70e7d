"""Which HTTP a step speaks: HTTP/1.1 (one request at a time per connection) or HTTP/2
(``streams`` requests multiplexed on each connection: h2 by ALPN over TLS, h2c by prior
knowledge without it). The Locust side is ``loadtests/client.py``; what the server actually
spoke is observed before the load (the ``h2``/``h2c`` probe) and recorded per repeat.

Example::

    >>> Http("2", streams=8).suffix, Http().suffix
    ('-h2', '')
"""

from __future__ import annotations

from dataclasses import dataclass

from asgi_bench import envvars

VERSIONS = ("1.1", "2")


@dataclass(frozen=True)
class Http:
    version: str = "1.1"
    streams: int = 1  # HTTP/2: requests in flight per connection at most

    @property
    def h2(self) -> bool:
        return self.version == "2"

    @property
    def suffix(self) -> str:
        """What a step id gains: nothing for HTTP/1.1 (ids stay as they were), ``-h2``."""
        return "-h2" if self.h2 else ""

    def probe(self, tls: bool) -> str | None:
        """The capability probe that observes this protocol before the load: h2 (ALPN),
        h2c (prior knowledge); HTTP/1.1 needs none."""
        if not self.h2:
            return None
        return "h2" if tls else "h2c"

    def environment(self) -> dict[str, str]:
        return {envvars.HTTP: self.version, envvars.STREAMS: str(self.streams)} if self.h2 else {}

    def describe(self) -> str:
        return f"HTTP/2, {self.streams} streams per connection" if self.h2 else "HTTP/1.1"


H1 = Http()
