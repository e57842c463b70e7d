"""``asgi-bench compare RUN_A RUN_B``: what changed from A to B, and whether it is real.

For every row the two runs share and every figure that matters for its load (closed loop:
throughput; open model: p50 and p99 latency; both: CPU per request and time in the app), the
change is B's median over A's, with a 95% interval and Welch's test over the repeats (see
:mod:`asgi_bench.verdict.stats`). A change that is not significant prints as ``~``. A significant
change beyond ``--threshold`` in the bad direction is a regression: the command exits 4
(``exitcodes.REGRESSION``), so CI can gate on it.

It refuses, with one line and exit 2, runs that cannot be compared: another schema, the
same cell configured differently (server options, rates, TLS, workers, users, driver
processes, metrics) or another machine (CPU model or count); ``--force`` compares anyway.

Two runs made with ``--profile`` also get, after that table, where the CPU went: per row both
profiled, µs per request by component in A and B (:mod:`asgi_bench.verdict.profile_diff`),
and each run's flame graphs of the row. It is information: it never makes a regression.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from asgi_bench import exitcodes
from asgi_bench.errors import UsageError
from asgi_bench.report.charts import save_figure
from asgi_bench.report.charts.compare import draw_compare
from asgi_bench.results.read import LoadedRun, load_run
from asgi_bench.results.summary import rows_of
from asgi_bench.verdict.comparison import Line, compare, refusal
from asgi_bench.verdict.profile_diff import ComponentChange, RowShift, shifts
from asgi_bench.verdict.stats import figure

PROFILE_TITLE = "where the CPU went (µs per request, A -> B)"


def run_compare(args: argparse.Namespace, console: Console) -> int:
    a, b = load_run(args.run_a), load_run(args.run_b)
    why = refusal(a, b)
    if why and not args.force:
        raise UsageError(f"cannot compare: {why} (--force compares anyway)")
    lines = compare(a, b, args.threshold / 100)
    if not lines:
        raise UsageError("the runs share no row with figures to compare")
    moved = shifts(rows_of(a.repeats, a.manifest), rows_of(b.repeats, b.manifest))
    if args.format == "markdown":
        sys.stdout.write(markdown(lines, a.layout.root, b.layout.root, args.threshold))
        if moved:
            sys.stdout.write("\n" + markdown_profiles(moved, a, b))
    else:
        console.print(_table(lines, args.threshold))
        if moved:
            console.print(_profile_table(moved))
            for shift in moved:
                # Paths whole, however narrow the terminal: they are to be copied.
                text = _flame_line(shift, a, b)
                console.print(text, markup=False, highlight=False, soft_wrap=True)
    if args.chart:
        save_figure(draw_compare(lines), Path(args.chart))
    regressions = [line for line in lines if line.regression]
    console.print(
        f"{len(regressions)} significant regression(s) beyond {args.threshold:g}%"
        + (": " + ", ".join(_name(r) for r in regressions) if regressions else "")
    )
    return exitcodes.REGRESSION if regressions else exitcodes.OK


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


def markdown_profiles(moved: Sequence[RowShift], a: LoadedRun, b: LoadedRun) -> str:
    """The second markdown table: per row and component, µs per request in A and B."""
    out = [
        PROFILE_TITLE,
        "",
        "| server | app | step | component | A | B | B - A | change |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for shift in moved:
        for part in shift.changes:
            cells = " | ".join(_change_cells(part))
            out.append(f"| {shift.server} | {shift.app} | {shift.step} | {cells} |")
    out.append("")
    for shift in moved:
        out.append(f"- {_flame_line(shift, a, b, quote='`')}")
    return "\n".join(out) + "\n"


def flamegraphs(run: LoadedRun, server: str, app: str, step: str) -> list[Path]:
    """The flame graphs of a row's ok repeats that were drawn, in repeat order: a failed
    repeat's is not part of the row's profile."""
    ok = sorted(
        r.repeat
        for r in run.repeats
        if (r.server, r.app, r.step, r.status) == (server, app, step, "ok")
    )
    paths = [run.layout.repeat(server, app, step, k).flamegraph for k in ok]
    return [path for path in paths if path.exists()]


def _change_cells(part: ComponentChange) -> tuple[str, str, str, str, str]:
    """component, A, B, B - A (µs) and the change as a share of A; ``–`` where unknown."""

    def us(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    delta, relative = part.delta, part.relative
    return (
        part.component,
        us(part.a),
        us(part.b),
        "–" if delta is None else f"{delta:+.1f}",
        "–" if relative is None else f"{relative:+.1%}",
    )


def _flame_line(shift: RowShift, a: LoadedRun, b: LoadedRun, quote: str = "") -> str:
    def paths(run: LoadedRun) -> str:
        found = flamegraphs(run, shift.server, shift.app, shift.step)
        return " ".join(f"{quote}{p}{quote}" for p in found) or "none"

    return f"flame graphs of {shift.server}/{shift.app} {shift.step}: A {paths(a)}; B {paths(b)}"


def _profile_table(moved: Sequence[RowShift]) -> Table:
    table = Table(title=PROFILE_TITLE)
    for column in ("server", "app", "step", "component"):
        table.add_column(column)
    for column in ("A", "B", "B - A", "change"):
        table.add_column(column, justify="right")
    for shift in moved:
        for part in shift.changes:
            table.add_row(shift.server, shift.app, shift.step, *_change_cells(part))
    return table


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


def _name(line: Line) -> str:
    return f"{line.server}/{line.app}/{line.step} {line.figure}"
