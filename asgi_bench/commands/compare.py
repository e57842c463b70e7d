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
from asgi_bench.results.read import load_run
from asgi_bench.verdict.comparison import Line, compare, refusal
from asgi_bench.verdict.stats import figure


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
