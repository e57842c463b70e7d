"""The wheel installs one import name, asgi_bench, with the apps, Locust files and collectors
inside it and py.typed beside them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_has_one_top_level_import_name(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("asgi_bench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"asgi_bench"}
    for inside in ("apps/hello.py", "loadtests/harness.py", "collectors/middleware.py", "py.typed"):
        assert f"asgi_bench/{inside}" in names, inside
