"""What py-spy costs each server here: measured by ``asgi-bench profile`` (CPU per request
profiled over unprofiled, same rate, alternating rounds) and kept in the user's cache, so
that a profiled row can say whether its figures may be ranked
(:data:`asgi_bench.verdict.profile.RANKABLE`)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "asgi-bench" / "profile-cost.json"


def profile_cost(server: str) -> dict[str, Any] | None:
    """``{"cpu_ratio": 1.07, "measured_at": ..., "rate": ...}`` for ``server`` on this host,
    or None where ``asgi-bench profile`` has not measured it."""
    try:
        data = json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("host") != socket.gethostname():
        return None
    servers = data.get("servers")
    found = servers.get(server) if isinstance(servers, dict) else None
    return found if isinstance(found, dict) and "cpu_ratio" in found else None


def save_profile_cost(server: str, cpu_ratio: float, detail: dict[str, Any]) -> Path:
    path = cache_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or data.get("host") != socket.gethostname():
        data = {}
    if not isinstance(data.get("servers"), dict):
        data = {"host": socket.gethostname(), "servers": {}}
    data.setdefault("servers", {})[server] = {
        "cpu_ratio": cpu_ratio,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **detail,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
