"""The report's "Where the time goes" (``--profile``): per app, the servers side by side at
one offered load, µs per request by component, each row's top functions by self time, and
links to its flame graphs.

A profile's samples are Python-side CPU (py-spy ``--gil``): what they account for is less
than the server's CPU per request, measured beside them; the difference is shown as "not
sampled" (work no thread did holding the GIL: granian's Rust threads, the kernel's side of
an answer beyond its syscall). Profiled rows include the profiler's own cost (README).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from asgi_bench.report.tables import over
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row
from asgi_bench.verdict.profile import COMPONENTS, Profile

NOT_SAMPLED = "not_sampled"


def component_us(row: Row) -> list[tuple[str, float]]:
    """(component, µs per request) of a profiled row, in COMPONENTS order, then what the
    samples do not account for of the row's CPU per request (never below 0; its unit tests
    are in tests/test_compare_profiles.py)."""
    if row.profile is None:
        return []
    profile = Profile.from_dict(row.profile)
    parts = [
        (name, profile.components[name].us_per_request or 0.0)
        for name, _ in COMPONENTS
        if name in profile.components
    ]
    sampled = sum(us for _, us in parts)
    cpu = row.get("cpu_us_per_request")
    if cpu is not None:
        parts.append((NOT_SAMPLED, max(0.0, cpu - sampled)))
    return parts


def comparable(rows: list[Row]) -> dict[tuple[str, float], list[Row]]:
    """Per app (and HTTP version), the offered rate at which the most servers have an ok
    row whose server was profiled (the open model: the same load for each), and those rows.
    A driver's profile is Locust's time, not the server's: it is not set against the
    server's CPU per request."""
    profiled = [
        r
        for r in rows
        if r.profile and r.profile.get("target") == "server" and r.status == "ok"
        if r.load == "open"
    ]
    groups: dict[tuple[str, float], list[Row]] = {}
    for app, http in dict.fromkeys((r.app, r.http) for r in profiled):
        by_rate: dict[float, list[Row]] = {}
        for row in profiled:
            if (row.app, row.http) == (app, http) and row.offered_rps:
                by_rate.setdefault(row.offered_rps, []).append(row)
        if by_rate:
            rate = max(by_rate, key=lambda r: (len(by_rate[r]), r))
            groups[(app + over(http), rate)] = by_rate[rate]
    return groups


def profile_section(rows: list[Row], layout: RunLayout) -> list[str]:
    profiled = [r for r in rows if r.profile and r.status == "ok"]
    if not profiled:
        return []
    labels = dict(COMPONENTS)
    parts = [
        "<p>µs of Python-side CPU per request by component (py-spy samples while a thread "
        "holds the GIL, with native frames), beside the server's measured CPU per request; "
        "<i>not sampled</i> is the difference (a sample is GIL-held time, so a server that "
        "was preempted or paused holding the GIL can read more than its CPU: then 0). "
        "Profiled rows carry the profiler's cost: compare them with each other; they are "
        "ranked only where <code>asgi-bench profile</code> measured that cost within 3%.</p>"
        "<p>In-app time, as the middleware records it, includes the app's awaits of the "
        "server's <code>send</code> and <code>receive</code>: uvicorn writes to the socket "
        "inside <code>send</code>, granian returns at once. With <code>--profile</code> the "
        "two are timed apart: <b>the app's own time is the figure that compares across "
        "servers</b>; the time inside send/receive is the server's.</p>"
    ]
    for (app, rate), mine in comparable(rows).items():
        present = [c for c, _ in COMPONENTS if any(_us(r, c) for r in mine)]
        head = "".join(f"<th>{escape(labels[c])}</th>" for c in present)
        body = []
        for row in mine:
            cells = "".join(f"<td>{_us(row, c):.1f}</td>" for c in present)
            parts_us = dict(component_us(row))
            cpu = row.get("cpu_us_per_request")
            split = "".join(
                f"<td>{_us_of(row.get(name))}</td>"
                for name in ("app_p50_ms", "app_own_p50_ms", "in_server_p50_ms")
            )
            body.append(
                f"<tr><td class='l'>{escape(row.server)}</td>"
                f"<td>{'–' if cpu is None else f'{cpu:.1f}'}</td>{cells}"
                f"<td>{parts_us.get(NOT_SAMPLED, 0.0):.1f}</td>{split}"
                f"<td>{_samples(row):,}</td><td class='l'>{_links(row, layout)}</td></tr>"
            )
        parts.append(
            f"<h3>{escape(app)} at {rate:,.0f} req/s offered</h3>"
            "<table class='sortable'><tr><th>server</th><th>CPU µs/req</th>"
            f"{head}<th>not sampled</th><th>in-app p50 µs</th><th>app's own p50 µs</th>"
            "<th>in send/receive p50 µs</th><th>samples</th><th>flame graphs</th></tr>"
            + "".join(body)
            + "</table>"
        )
    for row in profiled:
        parts.append(_top_table(row, layout))
    return parts


def _us(row: Row, component: str) -> float:
    return dict(component_us(row)).get(component, 0.0)


def _us_of(ms: float | None) -> str:
    return "–" if ms is None else f"{ms * 1000:.1f}"


def _samples(row: Row) -> int:
    return int((row.profile or {}).get("samples", 0))


def _links(row: Row, layout: RunLayout) -> str:
    links = []
    for k in range(1, row.planned + 1):
        where = layout.repeat(row.server, row.app, row.step, k)
        if where.flamegraph.exists():
            href = Path(where.flamegraph).relative_to(layout.root).as_posix()
            links.append(f"<a href='{escape(href)}'>r{k}</a>")
    return " ".join(links) or "–"


def _top_table(row: Row, layout: RunLayout) -> str:
    profile = Profile.from_dict(row.profile or {})
    labels = dict(COMPONENTS)
    body = "".join(
        f"<tr><td class='l'><code>{escape(top.function)}</code></td>"
        f"<td class='l'>{escape(labels.get(top.component, top.component))}</td>"
        f"<td>{top.samples:,}</td><td>{top.share:.1%}</td></tr>"
        for top in profile.top
    )
    return (
        f"<details><summary>{escape(row.cell)} {escape(row.step)}: top functions by self "
        f"time ({profile.samples:,} samples; flame graphs {_links(row, layout)})</summary>"
        "<table><tr><th>function</th><th>component</th><th>samples</th><th>share</th></tr>"
        f"{body}</table></details>"
    )
