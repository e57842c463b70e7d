"""The wheel installs one import name, asgi_bench, with the apps, Locust files and collectors
inside it and py.typed beside them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The files of the wheel ``pip wheel`` builds from the checkout, built once."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("asgi_bench-*.whl")
    return zipfile.ZipFile(wheel).namelist()


def test_the_wheel_has_one_top_level_import_name(wheel_names):
    names = wheel_names
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"asgi_bench"}
    for inside in ("apps/hello.py", "loadtests/harness.py", "collectors/middleware.py", "py.typed"):
        assert f"asgi_bench/{inside}" in names, inside


def test_the_wheel_holds_every_package_of_the_tree(wheel_names):
    # pyproject.toml lists the packages by name (the three mapped folders need it): a new
    # package left out of that list would be missing from the wheel and the Docker image.
    names = set(wheel_names)
    inits = [p.relative_to(REPO).as_posix() for p in (REPO / "asgi_bench").rglob("__init__.py")]
    for folder in ("apps", "collectors", "loadtests"):
        inits.append(f"asgi_bench/{folder}/__init__.py")
    missing = [init for init in inits if "__pycache__" not in init and init not in names]
    assert not missing, missing


def test_the_repository_has_no_symlinks():
    listed = subprocess.run(
        ["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert not [line for line in listed.splitlines() if line.startswith("120000")]


def test_the_installed_package_imports_the_top_level_folders_from_anywhere(tmp_path):
    # From a folder of a user's, not the checkout: what the install maps, not the cwd.
    modules = "asgi_bench.apps.hello, asgi_bench.collectors.middleware, asgi_bench.loadtests"
    found = subprocess.run(
        [sys.executable, "-c", f"import {modules}; print(asgi_bench.apps.hello.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == REPO / "apps" / "hello.py"
