"""What a server config is: one small, declarative table entry.

A config says how to launch the server (``command``, ``bind``, ``tls_bind``, ``workers``) as
argv templates, and what it claims to support. Placeholders: ``{app}``, ``{host}``,
``{port}``, ``{workers}``, ``{certfile}``, ``{keyfile}``.

Example, a new server in one entry::

    MYSERVER = ServerSpec(
        name="myserver",
        module="myserver",
        install_hint="pip install myserver",
        command=("-m", "myserver", "{app}"),
        bind=("--host", "{host}", "--port", "{port}"),
        tls_bind=("--host", "{host}", "--port", "{port}", "--cert", "{certfile}",
                  "--key", "{keyfile}"),
        workers=("--workers", "{workers}"),
    )
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass, field

CAPABILITIES = ("lifespan", "websocket", "tls", "workers")


@dataclass(frozen=True)
class LaunchOptions:
    app: str
    host: str
    port: int
    workers: int = 1
    certfile: str | None = None
    keyfile: str | None = None
    http: str = "1.1"  # 2: the step speaks HTTP/2, so the config's ``http2`` flags are added

    @property
    def tls(self) -> bool:
        return self.certfile is not None


@dataclass(frozen=True)
class ServerSpec:
    name: str
    module: str  # the importable module; its absence makes the config unavailable
    install_hint: str
    command: tuple[str, ...]  # argv after the Python interpreter
    bind: tuple[str, ...]
    tls_bind: tuple[str, ...]
    workers: tuple[str, ...] | None  # None: the server has no worker count
    supports: frozenset[str] = field(default_factory=lambda: frozenset(CAPABILITIES))
    notes: str = ""
    distribution: str = ""  # for version lookup; defaults to ``module``
    # Added for an HTTP/2 step, for a server that speaks it only when asked. Whether it then
    # does is observed (the h2/h2c probe), never assumed from these.
    http2: tuple[str, ...] = ()
    # --profile: (regular expression, component) pairs that say which of a profile's frames
    # are this server's HTTP protocol, event loop or ASGI glue; searched in each frame,
    # ``function (pkg/module.py:LINE)``, before the rules every server shares
    # (asgi_bench.verdict.profile.COMMON_RULES).
    profile_rules: tuple[tuple[str, str], ...] = ()

    @property
    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    @property
    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution or self.module)
        except importlib.metadata.PackageNotFoundError:
            return None

    def argv(self, options: LaunchOptions) -> list[str]:
        """The full command line for ``options``, starting with this interpreter."""
        values = {
            "app": options.app,
            "host": options.host,
            "port": str(options.port),
            "workers": str(options.workers),
            "certfile": options.certfile or "",
            "keyfile": options.keyfile or "",
        }
        parts = [*self.command, *(self.tls_bind if options.tls else self.bind)]
        if self.workers is not None and options.workers != 1:
            parts += self.workers
        if options.http == "2":
            parts += self.http2
        return [sys.executable, *(part.format(**values) for part in parts)]

    def unsupported(self, options: LaunchOptions) -> str | None:
        """Why this config cannot run ``options`` at all, or None."""
        if options.workers != 1 and self.workers is None:
            return f"{self.name} has no worker count (asked for {options.workers} workers)"
        if options.tls and "tls" not in self.supports:
            return f"{self.name} does not support TLS"
        return None
