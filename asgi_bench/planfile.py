"""A run's flags from a plan file or from a past run: the layer between the defaults and the
command line.

* ``run --config plan.toml``: its ``[tool.asgi-bench]`` table, else its top level;
* else the ``[tool.asgi-bench]`` table of the ``pyproject.toml`` in the folder the run
  starts in, when it has one;
* ``run --replay RUN_DIR``: the configuration that run's ``run.json`` recorded, under both
  (its results folder and its files excepted: they are this run's to choose).

A key is a ``run`` flag's name without its dashes (``servers``, ``rates``,
``no-native-peak``; ``driver_processes`` as well as ``driver-processes``), its value what the
flag takes: a string or a number, a list for a comma-separated flag, ``true`` for a switch.
The file is read by the command line's own parser, so a bad key or value is refused in one
line, naming the file. Flags win over the file, the file over the replayed run, and that over
the defaults; ``run.json`` records where each value came from (``settings.sources``)::

    [tool.asgi-bench]
    servers = ["uvicorn", "granian"]
    rates = [300, 1200]
    repeat = 3
    slo = "p99<10ms"
    no-native-peak = true
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asgi_bench.errors import UsageError

TABLE = "asgi-bench"  # [tool.asgi-bench]
NOT_REPLAYED = frozenset({"out", "junit", "config", "replay"})


def layered(
    parser: argparse.ArgumentParser,
    given: Mapping[str, Any],
    fields: tuple[dataclasses.Field[Any], ...],
    cwd: Path,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The run's values: ``given`` (the command line's) over the plan file's over the
    replayed run's; and where each came from, for the values not left at their default."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    replay = given.get("replay")
    if replay is not None:
        recorded = replayed(Path(replay), fields)
        values.update(recorded)
        sources.update(dict.fromkeys(recorded, f"replay {replay}"))
    found = plan_table(given.get("config"), cwd, replaying=replay is not None)
    if found is not None:
        table, source = found
        planned = vars(_parse(parser, table, source))
        values.update(planned)
        sources.update(dict.fromkeys(planned, source))
    values.update(given)
    sources.update(dict.fromkeys(given, "flag"))
    return values, sources


def plan_table(
    config: Path | None, cwd: Path, replaying: bool
) -> tuple[dict[str, Any], str] | None:
    """The plan's table and its name: ``--config``'s file, else (not when replaying a run)
    the ``[tool.asgi-bench]`` of ``cwd``'s pyproject.toml; None when there is neither."""
    if config is not None:
        data = _toml(Path(config))
        table = data.get("tool", {}).get(TABLE, data)
        return _table(table, str(config)), str(config)
    pyproject = cwd / "pyproject.toml"
    if replaying or not pyproject.is_file():
        return None
    table = _toml(pyproject).get("tool", {}).get(TABLE)
    if table is None:
        return None
    source = f"{pyproject.name} [tool.{TABLE}]"
    return _table(table, source), source


def replayed(run_dir: Path, fields: tuple[dataclasses.Field[Any], ...]) -> dict[str, Any]:
    """The configuration a past run recorded, as the run's values (JSON's lists back to the
    tuples and paths the fields hold)."""
    path = run_dir / "run.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))["config"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--replay {run_dir}: no run configuration to replay ({exc})") from None
    values: dict[str, Any] = {}
    for spec in fields:
        if spec.name in NOT_REPLAYED or spec.name not in config:
            continue
        value = config[spec.name]
        if isinstance(value, list):  # JSON's array: the config holds tuples
            value = tuple(value)
        elif isinstance(spec.default, Path) and isinstance(value, str):
            value = Path(value)
        values[spec.name] = value
    return values


def _toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"--config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not TOML: {exc}") from None


def _table(table: object, source: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise UsageError(f"{source}: [tool.{TABLE}] must be a table of run flags")
    return table


def _parse(
    parser: argparse.ArgumentParser, table: dict[str, Any], source: str
) -> argparse.Namespace:
    """The table as the flags it stands for, parsed as the command line is."""
    actions = {a.option_strings[0][2:]: a for a in parser._actions if a.option_strings}
    argv: list[str] = []
    for key, value in table.items():
        name = key.replace("_", "-")
        action = actions.get(name)
        if action is None or name in ("help", "config", "replay"):
            valid = ", ".join(sorted(set(actions) - {"help", "config", "replay"}))
            raise UsageError(f"{source}: unknown key {key!r}; valid keys: {valid}")
        flag = action.option_strings[0]
        if action.nargs == 0:  # a switch
            if not isinstance(value, bool):
                raise UsageError(f"{source}: {key} = {value!r}: a switch is true or false")
            argv += [flag] if value else []
        elif isinstance(value, list):
            argv += [flag, ",".join(str(item) for item in value)]
        else:
            argv += [flag, str(value)]

    def refuse(message: str) -> None:
        raise UsageError(f"{source}: {message}")

    error = parser.error
    parser.error = refuse  # type: ignore[method-assign,assignment]
    try:
        return parser.parse_args(argv)
    finally:
        parser.error = error  # type: ignore[method-assign]
