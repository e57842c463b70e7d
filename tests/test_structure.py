"""The shape of the package: imports run one way (no cycle, imports inside functions
included), and the top of asgi_bench/ stays small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Where each part of the import name lives in the checkout (pyproject.toml's package-dir).
ROOTS = {
    "asgi_bench": REPO / "asgi_bench",
    "asgi_bench.apps": REPO / "apps",
    "asgi_bench.collectors": REPO / "collectors",
    "asgi_bench.loadtests": REPO / "loadtests",
}


def modules(roots: dict[str, Path]) -> dict[str, Path]:
    """Module name -> file, for every .py file under the roots."""
    found: dict[str, Path] = {}
    for name, root in roots.items():
        for path in root.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([name, *parts])] = path
    return found


def imports(path: Path, name: str, known: dict[str, Path]) -> Iterator[str]:
    """The known modules ``name`` imports, wherever in the file (inside functions too), and
    the packages above each: Python runs a package's __init__ before its modules."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1]])
                base = f"{base}.{node.module}" if node.module else base
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            while target:
                if target != name:
                    yield target
                target = target.rpartition(".")[0]


def cycles(known: dict[str, Path]) -> list[list[str]]:
    """Every import cycle among ``known``, each as the modules on it (Tarjan's SCCs)."""
    graph = {name: sorted(set(imports(path, name, known))) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return found


def test_the_package_has_no_import_cycle():
    known = modules(ROOTS)
    assert "asgi_bench.collectors.middleware" in known and "asgi_bench.run.runner" in known
    assert cycles(known) == []


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from pkg import a  # lazy, still a cycle\n")
    (package / "c.py").write_text("import pkg.a\n")
    assert cycles(modules({"pkg": package})) == [["pkg.a", "pkg.b"]]


def test_the_top_of_the_package_holds_at_most_15_modules():
    top = sorted(p.name for p in (REPO / "asgi_bench").glob("*.py"))
    assert len(top) <= 15, top


def test_every_run_flag_is_a_field_of_the_config_object():
    import argparse
    import dataclasses

    from asgi_bench.cli import build_parser
    from asgi_bench.config import RunConfig

    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    run = commands.choices["run"]
    dests = {a.dest for a in run._actions if a.dest != "help"}
    assert dests == {f.name for f in dataclasses.fields(RunConfig)}
    # A flag not given stays out of the namespace: RunConfig's own default applies.
    assert vars(parser.parse_args(["run"])) == {"command": "run"}


def test_version_and_every_commands_help_answer():
    import argparse
    import subprocess
    import sys

    from asgi_bench import __version__

    said = subprocess.run(
        [sys.executable, "-m", "asgi_bench", "--version"], capture_output=True, text=True
    )
    assert said.returncode == 0 and said.stdout.strip() == f"asgi-bench {__version__}"
    from asgi_bench.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        assert sub.format_help().startswith(f"usage: asgi-bench {name}"), name


# stage -> the stages it must never import (a stage is asgi_bench.<first part>).
NEVER = {
    "system": {"run", "verdict", "results", "report", "commands", "config", "workloads"},
    "collectors": {"run", "verdict", "results", "report", "commands", "config", "loadtests"},
    "verdict": {"report", "commands"},
    "results": {"run", "report", "commands"},
    "report": {"commands"},
    "run": {"commands"},
}


def test_the_stages_import_only_downward():
    known = modules(ROOTS)
    wrong = []
    for name, path in known.items():
        stage = name.split(".")[1] if "." in name else ""
        for target in set(imports(path, name, known)):
            if "." in target and target.split(".")[1] in NEVER.get(stage, ()):
                wrong.append(f"{name} -> {target}")
    assert not wrong, wrong
