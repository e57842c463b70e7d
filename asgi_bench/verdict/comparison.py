"""What changed from run A to run B, and whether the two can be compared at all.

For every row the two runs share and every figure that matters for its load (closed loop:
throughput; open model: p50 and p99 latency; both: CPU per request and time in the app), the
change is B's median over A's, with a 95% interval and Welch's test over the repeats (see
:mod:`asgi_bench.verdict.stats`). A significant change beyond the threshold in the bad
direction is a regression. ``asgi-bench compare`` (:mod:`asgi_bench.commands.compare`)
prints it; its chart is :mod:`asgi_bench.report.charts.compare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from asgi_bench.collectors.compiled import PYTHON
from asgi_bench.figures import FIGURES
from asgi_bench.results.read import LoadedRun
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import paired_run, twins_of
from asgi_bench.verdict.stats import Change, change

COMPARED = {
    "closed": ("rps", "p50_ms", "cpu_us_per_request", "app_p50_ms"),
    "open": ("p50_ms", "p99_ms", "cpu_us_per_request", "app_p50_ms"),
    "native": ("rps", "cpu_us_per_request"),  # the server under wrk: its peak and its cost
}
# run.json fields that must match for rows to be comparable: (where, field)
SAME_CONFIG = (
    ("config", "workers"),
    ("config", "tls"),
    ("config", "metrics"),
    ("config", "profile"),  # py-spy's own cost would read as a regression
    ("config", "paired"),  # bare headline figures against instrumented ones
    ("settings", "driver_processes"),
    ("config", "arrival"),
)
UNSET = {"paired": False}  # what a run from before the field was recorded ran with
SAME_MACHINE = (("host", "cpu_model"), ("host", "cpu_count"))


@dataclass(frozen=True)
class Line:
    server: str
    app: str
    step: str
    figure: str
    a: float | None
    b: float | None
    change: Change
    regression: bool


def compare(a: LoadedRun, b: LoadedRun, threshold: float) -> list[Line]:
    groups_a, groups_b = _groups(a.repeats), _groups(b.repeats)
    paired_a, paired_b = paired_run(a.manifest), paired_run(b.manifest)
    lines = []
    for key in [k for k in groups_a if k in groups_b]:
        load = groups_a[key][0].load
        for name in COMPARED.get(load, COMPARED["closed"]):
            va = _values(groups_a[key], name, paired_a)
            vb = _values(groups_b[key], name, paired_b)
            if not va or not vb:
                continue
            found = change(va, vb)
            worse = found.ratio is not None and (
                found.ratio < 1 - threshold
                if FIGURES[name].higher_is_better
                else found.ratio > 1 + threshold
            )
            lines.append(
                Line(
                    *key,
                    name,
                    float(median(va)),
                    float(median(vb)),
                    found,
                    found.significant and worse,
                )
            )
    return lines


def refusal(a: LoadedRun, b: LoadedRun) -> str | None:
    """Why ``a`` and ``b`` cannot be compared, in one line, or None."""
    for run in (a, b):
        if run.damaged and str(run.layout.run_json) in {path for path, _ in run.damaged}:
            return f"{run.layout.root}: {dict(run.damaged)[str(run.layout.run_json)]}"
    for section, name in (*SAME_CONFIG, *SAME_MACHINE):
        left = (a.manifest.get(section) or {}).get(name, UNSET.get(name))
        right = (b.manifest.get(section) or {}).get(name, UNSET.get(name))
        if left != right:
            what = "machines" if section == "host" else "configurations"
            return f"the runs have different {what}: {section}.{name} is {left!r} vs {right!r}"
    left, right = _builds(a), _builds(b)
    if left and right and left != right:
        # The compiled middleware costs a server less than the Python one.
        return f"the runs' servers ran different middleware builds: {left} vs {right}"
    # Per server and per app, of those both runs hold: a run of two servers compares with
    # a quick run that holds them among eight.
    for name, what in (("server_options", "the command of server"), ("steps", "the steps of")):
        left = (a.manifest.get("settings") or {}).get(name) or {}
        right = (b.manifest.get("settings") or {}).get(name) or {}
        for key in sorted(set(left) & set(right)):
            if left[key] != right[key]:
                return f"the runs differ in {what} {key}: {left[key]} vs {right[key]}"
    return None


def _builds(run: LoadedRun) -> list[str]:
    """The middleware builds the run's servers reported (Python, before they reported it)."""
    if not (run.manifest.get("config") or {}).get("metrics", True):
        return []
    return sorted({r.middleware or PYTHON for r in run.repeats if not r.bare and r.status == "ok"})


def _values(group: list[Repeat], name: str, paired: bool) -> list[float]:
    """A figure's values over a row's repeats: those of the twins its row reads it from."""
    return [value for r in twins_of(group, name, paired) if (value := getattr(r, name)) is not None]


def _groups(repeats: list[Repeat]) -> dict[tuple[str, str, str], list[Repeat]]:
    groups: dict[tuple[str, str, str], list[Repeat]] = {}
    for repeat in repeats:
        # A driver-limited repeat is not the server's figure: no change is read from it.
        if repeat.status == "ok" and repeat.bound != "driver":
            groups.setdefault((repeat.server, repeat.app, repeat.step), []).append(repeat)
    return groups
