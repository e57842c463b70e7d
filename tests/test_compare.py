"""``asgi-bench compare`` on the checked-in run: itself, a slower copy, a mismatched one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from asgi_bench import exitcodes
from tests.e2e import cli

FIXTURE = Path(__file__).parent / "data" / "run"


@pytest.fixture
def run_a(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "a"))


def scaled_copy(source: Path, target: Path, factor: float) -> Path:
    """A copy whose closed-loop throughput is ``factor`` times the original, every repeat."""
    shutil.copytree(source, target)
    for path in target.glob("cells/*/*/r*/repeat.json"):
        data = json.loads(path.read_text())
        if data["load"] == "closed" and data["rps"] is not None:
            data["rps"] *= factor
            path.write_text(json.dumps(data))
    return target


def test_a_run_against_itself_changes_nothing(run_a):
    proc = cli("compare", str(run_a), str(run_a))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 significant regression(s)" in proc.stdout
    markdown = cli("compare", str(run_a), str(run_a), "--format", "markdown")
    rows = [line for line in markdown.stdout.splitlines() if line.startswith("| uvicorn")]
    assert rows and all("| ~ |" in line for line in rows), markdown.stdout


def test_a_slower_copy_is_a_significant_regression(run_a, tmp_path):
    slower = scaled_copy(run_a, tmp_path / "b", 0.8)
    chart = tmp_path / "compare.png"
    proc = cli("compare", str(run_a), str(slower), "--format", "markdown", "--chart", str(chart))
    assert proc.returncode == exitcodes.REGRESSION, proc.stdout + proc.stderr
    # The steadiest closed-loop rows (SSE's two repeats differ by 2%) show -20% as significant.
    regressed = [
        line for line in proc.stdout.splitlines() if "closed-8u | rps" in line and "**" in line
    ]
    assert any("| uvicorn | sse |" in line and "-20.0%" in line for line in regressed), proc.stdout
    assert chart.stat().st_size > 0


def _other_run(run_a: Path, tmp_path: Path, section: str, field: str, value: object) -> Path:
    """A copy of ``run_a`` whose run.json has ``section.field`` set to ``value``."""
    other = Path(shutil.copytree(run_a, tmp_path / "b"))
    manifest = json.loads((other / "run.json").read_text())
    manifest[section][field] = value
    (other / "run.json").write_text(json.dumps(manifest))
    return other


def test_runs_of_different_configs_are_refused_naming_the_field(run_a, tmp_path):
    other = _other_run(run_a, tmp_path, "config", "workers", 2)
    proc = cli("compare", str(run_a), str(other))
    assert proc.returncode == 2
    assert "config.workers is 1 vs 2" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert cli("compare", str(run_a), str(other), "--force").returncode == 0


def test_a_paired_run_is_refused_against_an_unpaired_one(run_a, tmp_path):
    # bare headline figures against instrumented ones; a run from before the field was
    # recorded counts as unpaired
    other = _other_run(run_a, tmp_path, "config", "paired", True)
    proc = cli("compare", str(run_a), str(other))
    assert proc.returncode == 2 and "config.paired is False vs True" in proc.stderr
    manifest = json.loads((other / "run.json").read_text())
    del manifest["config"]["paired"]
    (other / "run.json").write_text(json.dumps(manifest))
    assert cli("compare", str(run_a), str(other)).returncode == exitcodes.OK


def test_runs_of_different_machines_are_refused(run_a, tmp_path):
    other = _other_run(run_a, tmp_path, "host", "cpu_count", 64)
    proc = cli("compare", str(run_a), str(other))
    assert proc.returncode == 2 and "different machines: host.cpu_count" in proc.stderr


def test_runs_of_different_server_sets_compare_on_the_servers_they_share(run_a, tmp_path):
    # B also ran a third server (not measured here): its command alone cannot refuse the
    # comparison; a shared server's different command does, naming it, in one line.
    manifest = json.loads((run_a / "run.json").read_text())
    options = manifest["settings"]["server_options"]
    assert sorted(options) == ["granian", "uvicorn"]
    wider = _other_run(run_a, tmp_path, "settings", "server_options", {**options, "daphne": ["x"]})
    proc = cli("compare", str(run_a), str(wider))
    assert proc.returncode == exitcodes.OK, proc.stdout + proc.stderr
    changed = {**options, "granian": [*options["granian"], "--http", "2"]}
    shutil.rmtree(wider)
    other = _other_run(run_a, tmp_path, "settings", "server_options", changed)
    proc = cli("compare", str(run_a), str(other))
    assert proc.returncode == exitcodes.USAGE
    assert "the runs differ in the command of server granian: [" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
