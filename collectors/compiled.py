"""The middleware compiled with mypyc where it can be, the pure-Python module where not.

The per-request path costs about a third less compiled (``asgi-bench overhead``'s
in-process figure; see the README). :func:`build` compiles ``middleware.py`` once per
version of the sources it depends on, into a cache folder named by their hash
(``~/.cache/asgi-bench/mypyc/<hash>-<python>``, or under ``$ASGI_BENCH_CACHE``);
``scripts/install`` and ``asgi-bench run`` call it. The package puts that folder first on
its ``__path__`` (:func:`activate`), so ``asgi_bench.collectors.middleware`` is the compiled
module wherever a build of these very sources exists, and the Python source otherwise: no
C compiler, no mypyc, a changed source, or ``ASGI_BENCH_PURE_MIDDLEWARE=1``. ``running``
says which one a process runs; the middleware's state reply carries it.

Example::

    $ python -m asgi_bench.collectors   # build now; prints the folder, or why not
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from asgi_bench import envvars

HERE = Path(__file__).resolve().parent
PACKAGE = Path(sys.modules["asgi_bench"].__file__ or "").resolve().parent
MODULE = "middleware"
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
COMPILED, PYTHON = "mypyc", "python"
running = PYTHON  # which middleware this process imports: activate() decides it
BUILD_TIMEOUT_S = 600


class BuildError(Exception):
    """Why the middleware could not be compiled here (the pure-Python one runs instead)."""


def sources() -> list[Path]:
    """What the compiled module depends on: mypyc may inline another module's constants."""
    return [*sorted(HERE.glob("*.py")), PACKAGE / "types.py"]


def folder() -> Path:
    """Where the build of today's sources for this interpreter lives (it may not exist)."""
    digest = hashlib.sha256()
    for path in sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    root = os.environ.get(envvars.CACHE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "asgi-bench"
    )
    return Path(root) / "mypyc" / f"{digest.hexdigest()[:16]}-{sys.implementation.cache_tag}"


def built(where: Path) -> bool:
    return (where / f"{MODULE}{SUFFIX}").is_file()


def activate(path: list[str]) -> None:
    """Put the build of today's sources first on the package's ``path``, if there is one."""
    if os.environ.get(envvars.PURE_MIDDLEWARE) == "1":
        return
    try:
        where = folder()
    except OSError:  # an unreadable source: the Python modules will say so when imported
        return
    if built(where):
        global running
        path.insert(0, str(where))
        running = COMPILED


def problem() -> str | None:
    """Why nothing can be compiled here, or None."""
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc is not installed (pip install mypy)"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler}) on PATH"
    if not Path(sysconfig.get_paths()["include"], "Python.h").is_file():
        return "no Python.h (install the Python development headers)"
    return None


def build() -> Path:
    """The folder of the compiled middleware, built now unless it is there already.

    Raises :class:`BuildError` with the reason when it cannot be built here."""
    where = folder()
    if built(where):
        return where
    reason = problem()
    if reason:
        raise BuildError(reason)
    where.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=where.parent) as scratch:
        # mypyc names a module from its path: lay the sources out as their import names.
        tree = Path(scratch, "asgi_bench")
        (tree / "collectors").mkdir(parents=True)
        (tree / "__init__.py").touch()
        shutil.copy(PACKAGE / "types.py", tree / "types.py")
        for path in HERE.glob("*.py"):
            shutil.copy(path, tree / "collectors" / path.name)
        command = [sys.executable, "-m", "mypyc", "--ignore-missing-imports"]
        try:
            done = subprocess.run(
                [*command, f"asgi_bench/collectors/{MODULE}.py"],
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildError(f"mypyc took over {BUILD_TIMEOUT_S} s") from exc
        if done.returncode != 0:
            lines = (done.stdout + done.stderr).strip().splitlines() or ["no output"]
            raise BuildError(f"mypyc failed: {lines[-1]}")
        staged = Path(scratch, "staged")
        staged.mkdir()
        for library in (tree / "collectors").glob(f"*{SUFFIX}"):
            shutil.move(library, staged / library.name)
        try:
            staged.rename(where)  # whole or not at all, should two builds race
        except OSError:
            if not built(where):
                raise
    return where
