"""The middleware compiled with mypyc where it can be, the pure-Python module where not.

The per-request path costs about a quarter less compiled (``asgi-bench overhead``'s
in-process figure; see the README). :func:`build` compiles ``middleware.py`` once per
version of the sources it depends on, into a cache folder named by their hash
(``~/.cache/asgi-bench/mypyc/<hash>-<python>``, or under ``$ASGI_BENCH_CACHE``);
``scripts/install`` and ``asgi-bench run`` call it. The package puts that folder first on
its ``__path__`` (:func:`activate`), so ``asgi_bench.collectors.middleware`` is the compiled
module wherever a build of these very sources exists, and the Python source otherwise: no
C compiler, no mypyc, a changed source, or ``ASGI_BENCH_PURE_MIDDLEWARE=1``. :func:`which`
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
BUILD_TIMEOUT_S = 600
# The shim Python imports, and the library mypyc puts the compiled code in: a build is both.
LIBRARIES = (f"{MODULE}{SUFFIX}", f"{MODULE}__mypyc{SUFFIX}")


class BuildError(Exception):
    """Why the middleware could not be compiled here (the pure-Python one runs instead)."""


def sources() -> list[Path]:
    """What the compiled module depends on: mypyc may inline another module's constants."""
    return [*sorted(HERE.glob("*.py")), PACKAGE / "types.py"]


def folder(files: list[Path] | None = None) -> Path:
    """Where the build of ``files`` (today's :func:`sources`) for this interpreter lives; it
    may not exist."""
    digest = hashlib.sha256()
    for path in files if files is not None else sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    root = os.environ.get(envvars.CACHE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "asgi-bench"
    )
    return Path(root) / "mypyc" / f"{digest.hexdigest()[:16]}-{sys.implementation.cache_tag}"


def built(where: Path) -> bool:
    return all((where / name).is_file() for name in LIBRARIES)


def activate(path: list[str]) -> None:
    """Put the build of today's sources first on the package's ``path``, if there is one."""
    if os.environ.get(envvars.PURE_MIDDLEWARE) == "1":
        return
    try:
        where = folder()
    except OSError:  # an unreadable source: the Python modules will say so when imported
        return
    if built(where):
        path.insert(0, str(where))


def which() -> str | None:
    """``mypyc`` or ``python``: the middleware this process imported; None before it has."""
    module = sys.modules.get(f"{__package__}.{MODULE}")
    if module is None:
        return None
    return COMPILED if (module.__file__ or "").endswith(SUFFIX) else PYTHON


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

    Raises :class:`BuildError` with the reason when it cannot be built here; a folder it
    returns holds a build that imports."""
    try:
        where = folder()
        if built(where):
            return where
        reason = problem()
        if reason:
            raise BuildError(reason)
        where.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=where.parent) as scratch:
            return _build(Path(scratch))
    except OSError as exc:  # a cache folder that cannot be written, a full disk
        raise BuildError(f"{exc.strerror or exc}: {exc.filename or 'the build folder'}") from exc


def _build(scratch: Path) -> Path:
    # mypyc names a module from its path: lay the sources out as their import names.
    tree = scratch / "asgi_bench"
    (tree / "collectors").mkdir(parents=True)
    (tree / "__init__.py").touch()
    shutil.copy(PACKAGE / "types.py", tree / "types.py")
    for path in HERE.glob("*.py"):
        shutil.copy(path, tree / "collectors" / path.name)
    # Named by the copies it compiles: a source edited meanwhile is not stored as built.
    where = folder([*sorted((tree / "collectors").glob("*.py")), tree / "types.py"])
    mypyc = [sys.executable, "-m", "mypyc", "--ignore-missing-imports"]
    _run([*mypyc, f"asgi_bench/collectors/{MODULE}.py"], scratch, "mypyc")
    staged = scratch / "staged"
    staged.mkdir()
    for name in LIBRARIES:
        if not (tree / "collectors" / name).is_file():
            raise BuildError(f"mypyc made no {name}")
        shutil.move(tree / "collectors" / name, staged / name)
    # The build imports under its own name, as the servers will import it, or it is not kept.
    probe = (
        f"import asgi_bench.collectors as package; package.__path__.insert(0, {str(staged)!r}); "
        f"from asgi_bench.collectors import {MODULE}; "
        f"assert {MODULE}.__file__.startswith({str(staged)!r}), {MODULE}.__file__"
    )
    pure = {**os.environ, envvars.PURE_MIDDLEWARE: "1"}  # today's build, if any, stays out
    _run([sys.executable, "-c", probe], staged, "the compiled module does not import", pure)
    try:
        staged.rename(where)  # whole or not at all, should two builds race
    except OSError:
        if not built(where):
            raise
    return where


def _run(command: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{what}: over {BUILD_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines() or ["no output"]
        raise BuildError(f"{what}: {lines[-1]}")
