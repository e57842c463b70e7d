"""Shared fixtures. The test process is made a *child subreaper*: any process a test
leaves behind, however deep, is reparented to pytest, so ``no_orphans`` can see it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

PR_SET_CHILD_SUBREAPER = 36
if sys.platform == "linux":
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _descendants() -> list[psutil.Process]:
    alive = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                proc.wait(0)  # reap: a zombie is not running, just unreaped
            else:
                alive.append(proc)
        except psutil.Error:
            pass
    return alive


@pytest.fixture(autouse=True)
def no_orphans() -> Iterator[None]:
    """Every test must leave no process behind, pass or fail."""
    yield
    # hypercorn's resource tracker lingers 1-2 s here; a slower machine gets more time, and
    # the loop ends as soon as nothing is left.
    deadline = time.monotonic() + 30
    left = _descendants()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _descendants()
    described = []
    for proc in left:  # clean up so one leak does not fail every later test
        with contextlib.suppress(psutil.Error):
            described.append((proc.pid, " ".join(proc.cmdline())))
            proc.kill()
    assert not left, f"processes left behind: {described}"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "results"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system that fills up: a 1 MiB tmpfs (needs root, as in CI)."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root: the full-disk test must run")
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
