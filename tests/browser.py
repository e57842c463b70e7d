"""Render a page in Debian's headless Chromium, as a person would open it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# Without the background-networking flags Chromium keeps dialling out on a closed network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (scripts/install)")
        pytest.skip("chromium not installed (scripts/install installs it as root)")
    return path


def render(page: Path | str, *, screenshot: Path, settle_ms: int = 0) -> str:
    """Screenshot ``page`` (a file, or a URL) and return its DOM after the browser has
    loaded it; ``settle_ms`` lets the page's scripts run that long first (its fetches and
    timers), for a page that draws itself from what it fetches."""
    target = page if isinstance(page, str) else page.as_uri()
    settle = [f"--virtual-time-budget={settle_ms}"] if settle_ms else []
    with tempfile.TemporaryDirectory(prefix="asgi-bench-chromium-") as profile:
        common = [chromium(), *FLAGS, *settle, f"--user-data-dir={profile}"]
        subprocess.run(
            [*common, "--window-size=1400,2400", f"--screenshot={screenshot}", target],
            capture_output=True,
            timeout=120,
            check=True,
        )
        dom = subprocess.run(
            [*common, "--dump-dom", target], capture_output=True, text=True, timeout=120, check=True
        )
    return dom.stdout
