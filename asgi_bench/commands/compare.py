"""``asgi-bench compare RUN_A RUN_B``: what changed from A to B, and whether it is real.

For every row the two runs share and every figure that matters for its load (closed loop:
throughput; open model: p50 and p99 latency; both: CPU per request and time in the app), the
change is B's median over A's, with a 95% interval and Welch's test over the repeats (see
:mod:`asgi_bench.verdict.stats`). A change that is not significant prints as ``~``. A significant
change beyond ``--threshold`` in the bad direction is a regression: the command exits 1, so
CI can gate on it.

It refuses, with one line and exit 2, runs that cannot be compared: another schema, the
same cell configured differently (server options, rates, TLS, workers, users, driver
processes, metrics) or another machine (CPU model or count); ``--force`` compares anyway.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from rich.console import Console
from rich.table import Table

from asgi_bench.errors import UsageError
from asgi_bench.results.read import LoadedRun, load_run
from asgi_bench.results.repeat import Repeat
from asgi_bench.verdict.stats import Change, change, figure

# figure -> True when higher is better
DIRECTION = {
    "rps": True,
    "p50_ms": False,
    "p99_ms": False,
    "cpu_us_per_request": False,
    "app_p50_ms": False,
}
FIGURES = {
    "closed": ("rps", "p50_ms", "cpu_us_per_request", "app_p50_ms"),
    "open": ("p50_ms", "p99_ms", "cpu_us_per_request", "app_p50_ms"),
}
# run.json fields that must match for rows to be comparable: (where, field)
SAME_CONFIG = (
    ("config", "workers"),
    ("config", "tls"),
    ("config", "metrics"),
    ("config", "driver_processes"),
    ("config", "arrival"),
    ("settings", "server_options"),
)
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
    lines = []
    for key in [k for k in groups_a if k in groups_b]:
        load = groups_a[key][0].load
        for name in FIGURES.get(load, FIGURES["closed"]):
            va = [getattr(r, name) for r in groups_a[key] if getattr(r, name) is not None]
            vb = [getattr(r, name) for r in groups_b[key] if getattr(r, name) is not None]
            if not va or not vb:
                continue
            found = change(va, vb)
            worse = found.ratio is not None and (
                found.ratio < 1 - threshold if DIRECTION[name] else found.ratio > 1 + threshold
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
        left = (a.manifest.get(section) or {}).get(name)
        right = (b.manifest.get(section) or {}).get(name)
        if left != right:
            what = "machines" if section == "host" else "configurations"
            return f"the runs have different {what}: {section}.{name} is {left!r} vs {right!r}"
    steps_a = (a.manifest.get("settings") or {}).get("steps") or {}
    steps_b = (b.manifest.get("settings") or {}).get("steps") or {}
    for app in set(steps_a) & set(steps_b):
        if steps_a[app] != steps_b[app]:
            return f"the runs have different steps for {app}: {steps_a[app]} vs {steps_b[app]}"
    return None


def run_compare(args: argparse.Namespace, console: Console) -> int:
    a, b = load_run(args.run_a), load_run(args.run_b)
    why = refusal(a, b)
    if why and not args.force:
        raise UsageError(f"cannot compare: {why} (--force compares anyway)")
    lines = compare(a, b, args.threshold / 100)
    if not lines:
        raise UsageError("the runs share no row with figures to compare")
    if args.format == "markdown":
        sys.stdout.write(markdown(lines, a.layout.root, b.layout.root, args.threshold))
    else:
        console.print(_table(lines, args.threshold))
    if args.chart:
        from asgi_bench.report.charts.compare import draw_compare

        draw_compare(lines, Path(args.chart))
    regressions = [line for line in lines if line.regression]
    console.print(
        f"{len(regressions)} significant regression(s) beyond {args.threshold:g}%"
        + (": " + ", ".join(_name(r) for r in regressions) if regressions else "")
    )
    return 1 if regressions else 0


def verdict(line: Line) -> str:
    """``~`` for no significant change, else the change with its interval."""
    ratio, ci = line.change.ratio, line.change.ci95
    if ratio is None:
        return "n/a"
    if not line.change.significant:
        return "~"
    text = f"{ratio - 1:+.1%}"
    if ci is not None:
        text += f" [{ci[0] - 1:+.1%}, {ci[1] - 1:+.1%}]"
    return text + (" REGRESSION" if line.regression else "")


def markdown(lines: Sequence[Line], a: Path, b: Path, threshold: float) -> str:
    out = [
        f"asgi-bench compare: **B** `{b.name}` against **A** `{a.name}` "
        f"(`~`: no significant change; regressions beyond {threshold:g}% in bold)",
        "",
        "| server | app | step | figure | A | B | change [95% interval] | p |",
        "|---|---|---|---|---:|---:|---|---:|",
    ]
    for line in lines:
        change_text = verdict(line)
        if line.regression:
            change_text = f"**{change_text}**"
        p = "–" if line.change.p is None else f"{line.change.p:.3f}"
        out.append(
            f"| {line.server} | {line.app} | {line.step} | {line.figure} | {figure(line.a)} | "
            f"{figure(line.b)} | {change_text} | {p} |"
        )
    return "\n".join(out) + "\n"


def _table(lines: Sequence[Line], threshold: float) -> Table:
    table = Table(title=f"B against A (~: no significant change; threshold {threshold:g}%)")
    for column in ("server", "app", "step", "figure", "A", "B", "change [95% interval]", "p"):
        table.add_column(column)
    for line in lines:
        style = "bold red" if line.regression else None
        p = "–" if line.change.p is None else f"{line.change.p:.3f}"
        table.add_row(
            line.server,
            line.app,
            line.step,
            line.figure,
            figure(line.a),
            figure(line.b),
            verdict(line),
            p,
            style=style,
        )
    return table


def _groups(repeats: list[Repeat]) -> dict[tuple[str, str, str], list[Repeat]]:
    groups: dict[tuple[str, str, str], list[Repeat]] = {}
    for repeat in repeats:
        if repeat.status == "ok":
            groups.setdefault((repeat.server, repeat.app, repeat.step), []).append(repeat)
    return groups


def _name(line: Line) -> str:
    return f"{line.server}/{line.app}/{line.step} {line.figure}"
