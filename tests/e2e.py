"""Helpers to run the real ``asgi-bench`` CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgi_bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=dict(env) if env is not None else None,
    )


def only_run(out: Path) -> Path:
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def rows(run_dir: Path) -> list[dict[str, Any]]:
    summary: list[dict[str, Any]] = json.loads((run_dir / "summary.json").read_text())["rows"]
    return summary


def repeat_dir(run_dir: Path, server: str, app: str, step: str, repeat: int = 1) -> Path:
    return run_dir / "cells" / f"{server}__{app}" / step / f"r{repeat}"


def short_run(
    out: Path,
    *args: str,
    seconds: int = 2,
    users: int = 4,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    native: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``asgi-bench run ARGS`` with short cells (1 s warm-up), results in ``out``; without
    the native peak unless asked (its own tests check it; the others check Locust's rows)."""
    return cli(
        "run",
        *args,
        *([] if native else ["--no-native-peak"]),
        "--duration",
        str(seconds),
        "--warmup",
        "1",
        "--users",
        str(users),
        "--out",
        str(out),
        cwd=cwd,
        env=env,
    )
