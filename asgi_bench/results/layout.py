"""Every path of a run, a cell and a repeat, and the schema version of what is written there.

Nothing else spells a results file name: the runner, the measurement, the server's start,
the recorder inside Locust, the analysis, the report and the charts all ask this module.

::

    results/<run-id>/
      run.json  summary.json  summary.csv  report.html  charts/<name>.png|.svg
      cells/<server>__<app>/<step>/r<k>/        one repeat: a fresh server, one window
        repeat.json  client.json  recorder.json  window.json  locust.json  locust.log
        native.json  native.log  native-warmup.log  native.lua     (a native step)
        server.log  server-samples.jsonl  server-state.jsonl  traceback.txt
        profile.txt  profile-span.json  profile.speedscope.json  flame.svg  py-spy.log
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgi_bench.errors import ResultsError, WriteError

SCHEMA = 1  # bump when a field changes meaning; loading refuses any other


@dataclass(frozen=True)
class RepeatLayout:
    """The folder of one repeat (one measured window on a fresh server process)."""

    dir: Path

    @property
    def repeat_json(self) -> Path:
        return self.dir / "repeat.json"

    @property
    def client_json(self) -> Path:
        return self.dir / "client.json"

    @property
    def recorder_json(self) -> Path:
        return self.dir / "recorder.json"

    @property
    def window_json(self) -> Path:
        return self.dir / "window.json"

    @property
    def locust_prefix(self) -> Path:
        """Locust's ``--json-file`` and ``--csv`` prefix."""
        return self.dir / "locust"

    @property
    def locust_json(self) -> Path:
        return self.dir / "locust.json"

    @property
    def locust_log(self) -> Path:
        return self.dir / "locust.log"

    @property
    def native_json(self) -> Path:
        """A native tool's figures (a native step, instead of the recorder's)."""
        return self.dir / "native.json"

    @property
    def native_log(self) -> Path:
        return self.dir / "native.log"

    @property
    def native_warmup_log(self) -> Path:
        return self.dir / "native-warmup.log"

    @property
    def native_requests(self) -> Path:
        """A native tool's line a request (h2load's ``--log-file``): removed once read,
        its histogram kept in native.json (about 25 bytes a request)."""
        return self.dir / "native-requests.tsv"

    @property
    def native_script(self) -> Path:
        return self.dir / "native.lua"

    @property
    def server_log(self) -> Path:
        return self.dir / "server.log"

    @property
    def server_samples(self) -> Path:
        return self.dir / "server-samples.jsonl"

    @property
    def server_state(self) -> Path:
        return self.dir / "server-state.jsonl"

    @property
    def profile_raw(self) -> Path:
        """--profile: py-spy's collapsed stacks of the window (also speedscope's input)."""
        return self.dir / "profile.txt"

    @property
    def profile_span(self) -> Path:
        """--profile: when py-spy started and was stopped (unix seconds): the profile's span."""
        return self.dir / "profile-span.json"

    @property
    def profile_log(self) -> Path:
        return self.dir / "py-spy.log"

    @property
    def flamegraph(self) -> Path:
        return self.dir / "flame.svg"

    @property
    def speedscope(self) -> Path:
        return self.dir / "profile.speedscope.json"

    @property
    def traceback(self) -> Path:
        return self.dir / "traceback.txt"

    @property
    def lifespan_marker(self) -> Path:
        return self.dir / "lifespan-marker.txt"

    @property
    def multiproc_dir(self) -> Path:
        return self.dir / "prometheus-multiproc"


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def charts_dir(self) -> Path:
        return self.root / "charts"

    def chart(self, name: str, suffix: str = "png") -> Path:
        return self.charts_dir / f"{name}.{suffix}"

    def repeat(
        self, server: str, app: str, step: str, repeat: int, bare: bool = False
    ) -> RepeatLayout:
        """A repeat's folder: ``r1``, and ``r1-bare`` for its bare twin under --paired."""
        name = f"r{repeat}-bare" if bare else f"r{repeat}"
        return RepeatLayout(self.root / "cells" / f"{server}__{app}" / step / name)


def write_text(path: Path, text: str) -> None:
    """Write atomically (a temp file, then rename); a failed write leaves no partial file
    and raises :class:`WriteError` with one line."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"could not write {path}: {exc.strerror or exc}") from exc


def write_json(path: Path, data: Any, *, schema: bool = False) -> None:
    payload = {"schema": SCHEMA, **data} if schema else data
    write_text(path, json.dumps(payload, indent=1, allow_nan=False) + "\n")


def read_json(path: Path, *, schema: bool = False) -> Any:
    """Read a results file; with ``schema``, refuse one written by another schema version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path} is unreadable: {exc}") from exc
    if schema:
        if not isinstance(data, dict):
            raise ResultsError(f"{path} is not a JSON object")
        found = data.get("schema")
        if found != SCHEMA:
            raise ResultsError(
                f"{path} has schema {found!r}; this asgi-bench reads schema {SCHEMA}"
            )
    return data
