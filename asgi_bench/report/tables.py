"""The report's tables: at the same offered load, capacity at the SLO, peak throughput, and
every row. Figures are printed with the digits their interval supports; a percentile that
needs more samples than the window held is left out, with a note saying how many it needs."""

from __future__ import annotations

from html import escape

from asgi_bench.figures import FIGURES
from asgi_bench.results.capacity import Capacity
from asgi_bench.results.rows import INSTRUMENT, Row
from asgi_bench.verdict.stats import figure

# The every-row table's figures, in order; labels and units from asgi_bench.figures.
COLUMNS = (
    "rps",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "p99_uncorrected_ms",
    "ttfb_p50_ms",
    "first_p50_ms",
    "app_p50_ms",
    "app_p99_ms",
    "errors",
    "cpu_us_per_request",
    "peak_rss_mib",
    "driver_busy",
    "server_busy",
)


def cell(row: Row, name: str, mark: str = "", best: bool = False) -> str:
    """One figure of a row as HTML: digits its interval supports, marks, or why it is empty;
    ``best``: the best of its column (marked)."""
    value = row.get(name)
    if value is None:
        return "<td>–</td>"
    need = row.too_few_samples(name)
    if need is not None:
        why = f"needs {need:,} samples per window; had {row.samples_per_window:,.0f}"
        return f"<td title='{escape(why)}'>n/a</td>"
    ci = row.ci95.get(name)
    if name in FIGURES and FIGURES[name].unit == "share":
        text = f"{value:.0%}"
    elif name == "errors":
        text = f"{value:,.0f}"
    else:
        text = figure(value, tuple(ci) if ci else None)  # type: ignore[arg-type]
    if name == "rps" and row.driver_bound:
        text = "≥" + text
    title = f"95% interval {figure(ci[0])}-{figure(ci[1])}" if ci else ""
    best_class = " class='best'" if best else ""
    return f"<td{best_class} title='{escape(title)}'>{escape(text + mark)}</td>"


def same_load(rows: list[Row]) -> list[str]:
    """Per app, the rates every server was offered: p50 / p99 latency and CPU per request."""
    parts: list[str] = []
    open_rows = [r for r in rows if r.load == "open" and r.offered_rps]
    for app, http in dict.fromkeys((r.app, r.http) for r in open_rows):
        mine = [r for r in open_rows if r.app == app and r.http == http]
        servers = list(dict.fromkeys(r.server for r in mine))
        offered = [{r.offered_rps or 0.0 for r in mine if r.server == s} for s in servers]
        rates = sorted(set.intersection(*offered))  # the rates every server got
        if not rates:
            continue
        head = "".join(f"<th colspan='3'>{rate:,.0f} req/s offered</th>" for rate in rates)
        sub = "<th>p50 ms</th><th>p99 ms</th><th>CPU µs/req</th>" * len(rates)
        body = []
        for server in servers:
            cells = []
            for rate in rates:
                row = next((r for r in mine if r.server == server and r.offered_rps == rate), None)
                if row is None or row.status != "ok" or row.driver_bound:
                    # A driver-limited row is not the server's figure: it is not compared.
                    status: str = "not run" if row is None else row.status
                    why = "not run" if row is None else row.reason
                    if row is not None and row.status == "ok":
                        status, why = "driver-limited", row.driver_reason
                    label = status + (" †" if status == "driver-limited" else "")
                    cells.append(
                        f"<td colspan='3' class='{escape(status)}' title='{escape(why)}'>"
                        f"{escape(label)}</td>"
                    )
                    continue
                mark = " ~" if row.noisy else ""
                cells.append(
                    cell(row, "p50_ms")
                    + cell(row, "p99_ms", mark)
                    + cell(row, "cpu_us_per_request")
                )
            body.append(f"<tr><td class='l'>{escape(server)}</td>{''.join(cells)}</tr>")
        parts.append(
            f"<h3>{escape(app + over(http))}</h3><table><tr><th rowspan='2'>server</th>{head}</tr>"
            f"<tr>{sub}</tr>{''.join(body)}</table>"
        )
    if parts:
        parts.append(
            "<p>Latency from each request's intended send (open model), CPU of the server's "
            "whole process tree per request it served. † driver-limited: the driver could not "
            "offer the rate (hover for why), so the server's figures there are not shown. "
            "~ noisy: see below.</p>"
        )
    return parts


def capacity_table(found: list[Capacity]) -> str:
    if not found:
        return ""
    body = []
    for c in found:
        value = "none met it" if c.capacity_rps is None else f"{c.capacity_rps:,.0f} req/s"
        if c.capacity_rps is not None and c.lower_bound:
            value = "≥ " + value
        why = {
            "slo": "the next rate missed the SLO",
            "driver": "the driver's limit",
            "untested": "every rate tried met it",
        }[c.limited_by]
        body.append(
            f"<tr><td class='l'>{escape(c.server)}</td>"
            f"<td class='l'>{escape(c.app + over(c.http))}</td>"
            f"<td class='l'>{escape(c.slo)}</td><td>{escape(value)}</td>"
            f"<td class='l'>{escape(why)}</td></tr>"
        )
    return (
        "<table class='sortable'><tr><th>server</th><th>app</th><th>SLO</th><th>capacity</th>"
        f"<th>stopped by</th></tr>{''.join(body)}</table>"
    )


def peak_table(rows: list[Row]) -> str:
    """Locust's closed-loop peak per cell and, beside it, the native tool's with the same
    connections, where one ran: "Locust ≥12,936, wrk 49,390" (a native row is calibration,
    never a row of its own here)."""
    closed = [r for r in rows if r.load == "closed"]
    if not closed:
        return ""
    native = {(r.server, r.app, r.users, r.http): r for r in rows if r.load == "native"}
    body = []
    for r in closed:
        bound = {
            "driver": "driver (a lower bound)",
            "server": "server",
            "neither": "neither: latency-limited",
        }.get(r.bound or "", "–")
        peer = native.get((r.server, r.app, r.users, r.http))
        if peer is None:
            tool = "<td>–</td><td>–</td>"
        else:
            shown = cell(peer, "rps")
            if peer.status != "ok":
                shown = f"<td class='l failed'>{escape(peer.reason)}</td>"
            tool = f"<td class='l'>{escape(peer.tool or 'native')}</td>{shown}"
        body.append(
            f"<tr><td class='l'>{escape(r.server)}</td>"
            f"<td class='l'>{escape(r.app + over(r.http))}</td>"
            f"<td class='l {r.status}'>{r.status}</td>{cell(r, 'rps')}{cell(r, 'p50_ms')}"
            f"{cell(r, 'cpu_us_per_request')}<td class='l'>{escape(bound)}</td>{tool}</tr>"
        )
    return (
        "<table class='sortable'><tr><th>server</th><th>app</th><th>status</th>"
        "<th>Locust req/s</th>"
        "<th>p50 ms</th><th>CPU µs/req</th><th>limited by</th><th>native tool</th>"
        f"<th>native req/s</th></tr>{''.join(body)}</table>"
    )


def summary_table(rows: list[Row], table_id: str = "every-row-table") -> str:
    """Every row, sortable by any column; each row has an anchor, and the best figure of each
    column among the rows of one app and step (the server's own: not driver-limited) is
    marked."""
    # --paired: the instrument's CPU cost beside each row's (bare) figures
    columns = (*COLUMNS, INSTRUMENT) if any(r.paired for r in rows) else COLUMNS
    head = "".join(f"<th>{escape(_label(name))}</th>" for name in columns)
    best = best_cells(rows)
    body = []
    for r in rows:
        why = "; ".join(filter(None, [r.reason, *r.notes, *r.unsteady]))
        noisy = {True: "noisy", False: "", None: "–"}[r.noisy]
        slo = {True: "met", False: f"missed: {r.slo_detail}", None: "–"}[r.slo_pass]
        figures = "".join(cell(r, name, best=(id(r), name) in best) for name in columns)
        body.append(
            f"<tr id='{escape(row_anchor(r))}'><td class='l'>{escape(r.server)}</td>"
            f"<td class='l'>{escape(r.app)}</td>"
            f"<td class='l'>{escape(r.step)}</td><td class='l {r.status}'>{r.status}</td>"
            f"{figures}<td>{escape(r.bound or '–')}</td>"
            f"<td title='{escape(r.count_detail)}'>{escape(r.count_check)}</td>"
            f"<td>{r.repeats}/{r.planned}</td><td>{noisy}</td><td class='l'>{escape(slo)}</td>"
            f"<td class='notes'>{escape(why)}</td></tr>"
        )
    return (
        f"<table class='sortable' id='{table_id}'><tr><th>server</th><th>app</th><th>step</th>"
        f"<th>status</th>{head}<th>bound</th><th>count check</th><th>repeats</th><th>noise</th>"
        f"<th>SLO</th><th>reason, notes</th></tr>{''.join(body)}</table>"
    )


def row_anchor(row: Row) -> str:
    """``row-uvicorn-hello-open-1200rps``: a link to one row of the every-row table."""
    return "row-" + "-".join((row.server, row.app, row.step)).replace(" ", "-")


def best_cells(rows: list[Row]) -> set[tuple[int, str]]:
    """(row, figure) of the best value of each figure among the rows of one app and step
    that two or more servers measured; a driver-limited row's figures are the driver's, a
    profiled row's carry py-spy's cost unless that was measured small (``Row.ranked``)."""
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        if r.status == "ok" and not r.driver_bound and r.ranked:
            groups.setdefault((r.app, r.step, r.http), []).append(r)
    best: set[tuple[int, str]] = set()
    for group in groups.values():
        if len(group) < 2:
            continue
        for name in COLUMNS:
            better = FIGURES[name].higher_is_better if name in FIGURES else None
            measured = [(value, r) for r in group if (value := r.get(name)) is not None]
            if better is None or len(measured) < 2:
                continue
            top = (max if better else min)(value for value, _ in measured)
            best.update((id(r), name) for value, r in measured if value == top)
    return best


def over(http: str) -> str:
    """What an app's name gains in a table where HTTP/2 rows stand beside HTTP/1.1 ones."""
    return " over HTTP/2" if http == "2" else ""


def _label(name: str) -> str:
    labels = {"errors": "failed", INSTRUMENT: "instrument CPU × bare"}
    return FIGURES[name].label if name in FIGURES else labels.get(name, name)
