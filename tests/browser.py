"""Render a page in Debian's headless Chromium, as a person would open it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import websocket

from asgi_bench.system.http import get
from asgi_bench.system.processes import ManagedProcess

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


def run_script(page: Path, body: str) -> Any:
    """Open ``page`` in headless Chromium, run ``body`` (a JavaScript function body) once it
    has loaded, as a person's clicks and keys would act on it, and return what it returns,
    through Chromium's DevTools protocol."""
    with tempfile.TemporaryDirectory(prefix="asgi-bench-chromium-") as profile:
        argv = [chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
        browser = ManagedProcess([*argv, page.as_uri()], Path(profile) / "chromium.log")
        try:
            port = _devtools_port(Path(profile), browser)
            pages = json.loads(get(f"http://127.0.0.1:{port}/json/list").body)
            url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
            ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
            try:
                # The tab starts on about:blank, then loads the page: wait for the page's own
                # document to be complete (a script run before would see the blank one).
                deadline = time.monotonic() + 60
                while _evaluate(ws, "location.href + ' ' + document.readyState") != (
                    f"{page.as_uri()} complete"
                ):
                    assert time.monotonic() < deadline, "the page never finished loading"
                    time.sleep(0.1)
                return _evaluate(ws, f"(function () {{ {body} }})()")
            finally:
                ws.close()
        finally:
            browser.stop(grace=10)


def _evaluate(ws: Any, expression: str) -> Any:
    """``expression``'s value in the page, by value; a page script's exception fails."""
    ws.send(
        json.dumps(
            {
                "id": 1,
                "method": "Runtime.evaluate",
                "params": {"expression": expression, "returnByValue": True},
            }
        )
    )
    while True:
        reply = json.loads(ws.recv())
        if reply.get("id") == 1:
            result = reply.get("result") or {}
            if "result" not in result:  # the context went away mid-navigation: ask again
                return None
            assert "exceptionDetails" not in result, result["exceptionDetails"]
            return result["result"].get("value")


def _devtools_port(profile: Path, browser: ManagedProcess) -> int:
    deadline = time.monotonic() + 60
    active = profile / "DevToolsActivePort"
    while not active.exists() or not active.read_text().strip():
        assert browser.poll() is None, browser.log_tail()
        assert time.monotonic() < deadline, "Chromium opened no DevTools port"
        time.sleep(0.1)
    return int(active.read_text().split()[0])
