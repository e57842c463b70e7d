"""What one driver process can offer on this host: measured by ``asgi-bench driver-check``
(kept in the user's cache), or a conservative estimate; a run warns before it asks for more.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_DRIVER_RPS = 4000.0  # per process, until driver-check has measured this machine


def cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "asgi-bench" / "driver-check.json"


@dataclass(frozen=True)
class DriverFigure:
    rps_per_process: float
    source: str  # where the figure comes from, for people


def driver_figure() -> DriverFigure:
    """What one driver process can offer here: measured by driver-check on this host, or a
    conservative estimate."""
    try:
        data = json.loads(cache_file().read_text())
        if data.get("host") == socket.gethostname() and data.get("rps_per_process"):
            when = data.get("measured_at", "?")
            return DriverFigure(float(data["rps_per_process"]), f"driver-check of {when}")
    except (OSError, ValueError):
        pass
    return DriverFigure(DEFAULT_DRIVER_RPS, "an estimate; run asgi-bench driver-check")


def save_driver_figure(rps: float, lag_p99_ms: float | None, detail: dict[str, Any]) -> Path:
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "host": socket.gethostname(),
        "rps_per_process": rps,
        "lag_p99_ms": lag_p99_ms,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **detail,
    }
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path
