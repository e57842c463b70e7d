"""Read a run folder back: its manifest and every repeat, whatever state they are in.

A damaged file (truncated, not JSON, wrong types, another schema) does not stop the reading:
it is listed in ``damaged`` with its reason, and everything else is read. This is what
``asgi-bench report`` and ``asgi-bench compare`` stand on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgi_bench.errors import ResultsError, UsageError
from asgi_bench.results.layout import RunLayout, read_json
from asgi_bench.results.repeat import Repeat


@dataclass
class LoadedRun:
    layout: RunLayout
    manifest: dict[str, Any]
    repeats: list[Repeat]
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def load_run(run_dir: Path) -> LoadedRun:
    layout = RunLayout(run_dir)
    if not run_dir.is_dir() or not (layout.run_json.exists() or (run_dir / "cells").is_dir()):
        raise UsageError(f"{str(run_dir)!r} is not a results folder (no run.json, no cells/)")
    damaged: list[tuple[str, str]] = []
    try:
        manifest = read_json(layout.run_json, schema=True)
    except ResultsError as exc:
        manifest = {"run_id": run_dir.name}
        damaged.append((str(layout.run_json), str(exc)))
    repeats: list[Repeat] = []
    for path in sorted((run_dir / "cells").glob("*/*/r*/repeat.json")):
        try:
            data = read_json(path, schema=True)
            repeats.append(Repeat.from_dict(data))
        except ResultsError as exc:
            damaged.append((str(path.relative_to(run_dir)), str(exc)))
    repeats.sort(key=lambda r: r.order)
    return LoadedRun(layout, manifest, repeats, damaged)
