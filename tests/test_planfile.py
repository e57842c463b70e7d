"""Run flags from a plan file, pyproject's [tool.asgi-bench] or a past run: the layers and
their precedence, and the one-line refusals."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from asgi_bench.cli import _run_parser
from asgi_bench.config import RunConfig
from asgi_bench.errors import UsageError
from asgi_bench.planfile import layered
from tests.e2e import only_run, rows, short_run

FIELDS = dataclasses.fields(RunConfig)
FIXTURE = Path(__file__).parent / "data" / "run"


def layers(given: dict[str, object], cwd: Path) -> tuple[dict[str, object], dict[str, str]]:
    return layered(_run_parser(), given, FIELDS, cwd)


def test_pyproject_sets_the_run_and_the_command_line_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'mine'\n\n[tool.asgi-bench]\n"
        'servers = ["uvicorn", "granian"]\nrates = [300, 1200]\nrepeat = 3\n'
        'no-native-peak = true\ndriver_processes = "auto"\n'
    )
    values, sources = layers({"repeat": 5}, tmp_path)
    # Read as the flags are: a list is the comma-separated flag, true the switch.
    assert values["servers"] == ("uvicorn", "granian") and values["rates"] == "300,1200"
    assert values["native_peak"] is False and values["driver_processes"] is None
    assert values["repeat"] == 5  # the flag
    assert sources["repeat"] == "flag"
    assert sources["servers"] == sources["rates"] == "pyproject.toml [tool.asgi-bench]"
    assert "duration" not in values and "duration" not in sources  # the default applies
    settings = RunConfig(**values).load(sources)  # type: ignore[arg-type]
    assert settings.describe()["sources"] == sources


def test_a_plan_file_is_read_at_its_top_level_or_its_tool_table(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('apps = "hello,sse"\nslo = "p99<10ms"\n')
    values, sources = layers({"config": plan}, tmp_path)
    assert values["apps"] == ("hello", "sse") and values["slo"] == "p99<10ms"
    assert sources["apps"] == str(plan) and sources["config"] == "flag"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("servrs = ['uvicorn']", "plan.toml: unknown key 'servrs'; valid keys: "),
        ("repeat = 'many'", "plan.toml: argument --repeat: invalid int value: 'many'"),
        ("tls = 'yes'", "plan.toml: tls = 'yes': a switch is true or false"),
        ("replay = 'results/x'", "plan.toml: unknown key 'replay'"),
        ("repeat = ", "plan.toml: not TOML: "),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_the_file(tmp_path, text, said):
    plan = tmp_path / "plan.toml"
    plan.write_text(text + "\n")
    with pytest.raises(UsageError) as refused:
        layers({"config": plan}, tmp_path)
    message = str(refused.value)
    assert said in message.replace(str(tmp_path) + "/", "") and "\n" not in message


def test_a_replay_runs_the_recorded_configuration_under_the_flags(tmp_path):
    values, sources = layers({"replay": FIXTURE, "servers": ("uvicorn",)}, tmp_path)
    # The fixture's run.json: uvicorn and granian, hello and sse at 200 and 400 req/s,
    # both load shapes, 2 repeats, seed 1; its results folder is not replayed.
    assert values["servers"] == ("uvicorn",) and sources["servers"] == "flag"
    assert values["apps"] == ("hello", "sse") and values["rates"] == "200,400"
    assert (values["load_shape"], values["repeat"], values["seed"]) == ("both", 2, 1)
    assert sources["rates"] == f"replay {FIXTURE}"
    assert "out" not in values
    RunConfig(**values).load(sources)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"--replay .*: no run configuration to replay"):
        layers({"replay": tmp_path}, tmp_path)


@pytest.mark.integration
def test_a_replayed_run_measures_the_recorded_steps_and_says_so(tmp_path):
    out = tmp_path / "results"
    args = ["--replay", str(FIXTURE), "--servers", "uvicorn", "--apps", "hello", "--load", "open"]
    proc = short_run(out, *args, "--repeat", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "replaying run 20261125-171425, recorded on " in proc.stdout
    run_dir = only_run(out)
    # The recorded rates (200 and 400 req/s) under this run's flags: uvicorn, open model.
    assert sorted((r["server"], r["step"]) for r in rows(run_dir)) == [
        ("uvicorn", "open-200rps"),
        ("uvicorn", "open-400rps"),
    ]
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["replay"]["run_id"] == "20261125-171425"
    sources = manifest["settings"]["sources"]
    assert sources["rates"] == f"replay {FIXTURE}" and sources["servers"] == "flag"
    assert manifest["config"]["seed"] == 1  # the recorded order's seed
