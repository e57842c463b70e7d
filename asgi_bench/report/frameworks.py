"""A framework's own cost, per server: hello, json, streaming and lifespan measured raw and
through each framework of ``--frameworks`` at the same offered rate; per framework, the
server's CPU per request and p50, and what the framework adds to the raw app's CPU per
request. Only the server's own figures are compared: ok rows, not driver-limited.
"""

from __future__ import annotations

from html import escape

from asgi_bench.report.tables import cell
from asgi_bench.results.rows import Row


def groups(rows: list[Row]) -> list[tuple[Row, list[Row]]]:
    """(raw row, its framework variants' rows) of one server, app, rate and HTTP version,
    for every group with a raw row and at least one variant, in the rows' order."""
    usable = [r for r in rows if r.servers_own]
    raw = {_key(r): r for r in usable if r.framework == "raw"}
    found: dict[tuple[object, ...], list[Row]] = {}
    for r in usable:
        if r.framework != "raw" and _key(r) in raw:
            found.setdefault(_key(r), []).append(r)
    return [(raw[key], variants) for key, variants in found.items()]


def _key(row: Row) -> tuple[object, ...]:
    return (row.server, row.base_app, row.offered_rps, row.http)


def added(variant: float | None, raw: float | None) -> str:
    """What a framework adds to the raw app's figure: ``+12.3``; – when either is missing.

    >>> added(212.3, 200.0), added(None, 200.0), added(190.0, 200.0)
    ('+12.3', '–', '-10.0')
    """
    if variant is None or raw is None:
        return "–"
    return f"{variant - raw:+.1f}"


def _added_cell(row: Row, raw: Row) -> str:
    if row is raw:  # the raw app adds nothing to itself: no figure, not +0.0
        return "–"
    return added(row.get("cpu_us_per_request"), raw.get("cpu_us_per_request"))


def framework_table(rows: list[Row]) -> str:
    """The table, or "" when no app was measured raw and through a framework at one rate."""
    found = groups(rows)
    if not found:
        return ""
    body = []
    for raw, variants in found:
        line = "".join(
            f"<tr><td class='l'>{escape(raw.server)}</td><td class='l'>{escape(raw.app)}</td>"
            f"<td>{raw.offered_rps or 0:,.0f}</td><td class='l'>{escape(r.framework)}</td>"
            + cell(r, "p50_ms")
            + cell(r, "cpu_us_per_request")
            + f"<td>{_added_cell(r, raw)}</td></tr>"
            for r in (raw, *variants)
        )
        body.append(line)
    return (
        "<table><tr><th>server</th><th>app</th><th>req/s offered</th><th>framework</th>"
        "<th>p50 ms</th><th>CPU µs/req</th><th>added CPU µs/req</th></tr>"
        f"{''.join(body)}</table>"
        "<p>The same routes and answers, raw and through each framework, at the same offered "
        "rate: the added CPU is the framework's own cost on that server (its routing, request "
        "and response objects), the server's CPU per request through the framework minus the "
        "raw app's.</p>"
    )
