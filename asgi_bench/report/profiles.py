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

from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row
from asgi_bench.verdict.profile import COMPONENTS, Profile

NOT_SAMPLED = "not_sampled"


def component_us(row: Row) -> list[tuple[str, float]]:
    """(component, µs per request) of a profiled row, in COMPONENTS order, then what the
    samples do not account for of the row's CPU per request (never below 0).

    >>> from tests.constructed import profiled_row
    >>> component_us(profiled_row("uvicorn", {"protocol": 10, "loop": 20}, cpu_us=50.0))[-1]
    ('not_sampled', 20.0)
    """
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
    """Per app, the offered rate at which the most servers have an ok, profiled row (the
    open model: the same load for each), and those rows."""
    profiled = [r for r in rows if r.profile and r.status == "ok" and r.load == "open"]
    groups: dict[tuple[str, float], list[Row]] = {}
    for app in dict.fromkeys(r.app for r in profiled):
        by_rate: dict[float, list[Row]] = {}
        for row in profiled:
            if row.app == app and row.offered_rps:
                by_rate.setdefault(row.offered_rps, []).append(row)
        if by_rate:
            rate = max(by_rate, key=lambda r: (len(by_rate[r]), r))
            groups[(app, rate)] = by_rate[rate]
    return groups


def profile_section(rows: list[Row], layout: RunLayout) -> list[str]:
    profiled = [r for r in rows if r.profile and r.status == "ok"]
    if not profiled:
        return []
    labels = dict(COMPONENTS)
    parts = [
        "<p>µs of Python-side CPU per request by component (py-spy samples while a thread "
        "holds the GIL, with native frames), beside the server's measured CPU per request; "
        "<i>not sampled</i> is the difference. Profiled rows carry the profiler's cost: "
        "compare them with each other, rank with unprofiled runs.</p>"
    ]
    for (app, rate), mine in comparable(rows).items():
        present = [c for c, _ in COMPONENTS if any(_us(r, c) for r in mine)]
        head = "".join(f"<th>{escape(labels[c])}</th>" for c in present)
        body = []
        for row in mine:
            cells = "".join(f"<td>{_us(row, c):.1f}</td>" for c in present)
            parts_us = dict(component_us(row))
            cpu = row.get("cpu_us_per_request")
            body.append(
                f"<tr><td class='l'>{escape(row.server)}</td>"
                f"<td>{'–' if cpu is None else f'{cpu:.1f}'}</td>{cells}"
                f"<td>{parts_us.get(NOT_SAMPLED, 0.0):.1f}</td>"
                f"<td>{_samples(row):,}</td><td class='l'>{_links(row, layout)}</td></tr>"
            )
        parts.append(
            f"<h3>{escape(app)} at {rate:,.0f} req/s offered</h3>"
            "<table class='sortable'><tr><th>server</th><th>CPU µs/req</th>"
            f"{head}<th>not sampled</th><th>samples</th><th>flame graphs</th></tr>"
            + "".join(body)
            + "</table>"
        )
    for row in profiled:
        parts.append(_top_table(row, layout))
    return parts


def _us(row: Row, component: str) -> float:
    return dict(component_us(row)).get(component, 0.0)


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
