"""HTTP/1.1 against HTTP/2, per app: for every server measured at both at the same offered
rate, p50 and p99 latency and the server's CPU per request side by side, with the ratio of
HTTP/2 to HTTP/1.1 (under 1.00: HTTP/2 cheaper or faster). Only rows that are the server's
figures are compared: ok, not driver-limited.
"""

from __future__ import annotations

from html import escape

from asgi_bench.report.tables import cell
from asgi_bench.results.rows import Row

FIGURES = (("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("cpu_us_per_request", "CPU µs/req"))


def pairs(rows: list[Row]) -> list[tuple[Row, Row]]:
    """(HTTP/1.1 row, HTTP/2 row) of the same server, app and offered rate, both the
    server's own figures, in the rows' order."""
    usable = [r for r in rows if r.servers_own]
    h1 = {(r.server, r.app, r.offered_rps): r for r in usable if r.http == "1.1"}
    found = []
    for r in usable:
        peer = h1.get((r.server, r.app, r.offered_rps)) if r.http == "2" else None
        if peer is not None:
            found.append((peer, r))
    return found


def ratio(h2: float | None, h1: float | None) -> str:
    """``0.87x``: the HTTP/2 figure over the HTTP/1.1 one; – when either is missing.

    >>> ratio(87.0, 100.0), ratio(None, 100.0), ratio(5.0, 0.0)
    ('0.87x', '–', '–')
    """
    if h2 is None or not h1:
        return "–"
    return f"{h2 / h1:.2f}x"


def protocol_table(rows: list[Row]) -> str:
    """The table, or "" when no server was measured at both versions at one rate."""
    found = pairs(rows)
    if not found:
        return ""
    head = "".join(f"<th colspan='3'>{label}</th>" for _, label in FIGURES)
    sub = "<th>HTTP/1.1</th><th>HTTP/2</th><th>ratio</th>" * len(FIGURES)
    body = []
    for h1, h2 in found:
        cells = "".join(
            cell(h1, name) + cell(h2, name) + f"<td>{ratio(h2.get(name), h1.get(name))}</td>"
            for name, _ in FIGURES
        )
        body.append(
            f"<tr><td class='l'>{escape(h1.server)}</td><td class='l'>{escape(h1.app)}</td>"
            f"<td>{h1.offered_rps or 0:,.0f}</td><td>{h2.streams or '–'}</td>{cells}</tr>"
        )
    return (
        "<table><tr><th rowspan='2'>server</th><th rowspan='2'>app</th>"
        "<th rowspan='2'>req/s offered</th><th rowspan='2'>streams per connection</th>"
        f"{head}</tr><tr>{sub}</tr>{''.join(body)}</table>"
        "<p>The same offered rate over both protocols; HTTP/2 multiplexes that many requests "
        "on each connection (h2 by ALPN with <code>--tls</code>, else h2c by prior "
        "knowledge, each observed before the load). Ratio: HTTP/2 over HTTP/1.1.</p>"
    )
