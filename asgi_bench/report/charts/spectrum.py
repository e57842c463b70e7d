"""The latency spectrum per app, as HdrHistogram's plotter draws it: latency against
percentile on a 1/(1-p) axis (50%, 90%, 99%, 99.9% ... evenly spaced), one line per server
at the same offered rate (the highest open-model rate every server of the app measured
itself, else their closed loop), from the merged window histograms of the row's repeats.
Dotted: the open model's latency from the actual send, beside the solid one from the
intended send."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.errors import ResultsError
from asgi_bench.report.charts._style import (
    apps_of,
    color,
    legend_below,
    panels,
    servers_of,
)
from asgi_bench.results.layout import RunLayout, read_json
from asgi_bench.results.rows import Row
from asgi_bench.verdict.client import merge

# Percentiles drawn: 1 - 10^(-k/10), from 0% to 99.999%, ten to a decade of 1/(1-p).
PERCENTILES = [100 * (1 - 10 ** (-k / 10)) for k in range(51)]
TICKS = {2: "50%", 10: "90%", 100: "99%", 1000: "99.9%", 10_000: "99.99%", 100_000: "99.999%"}


def comparable(rows: list[Row], app: str) -> list[Row]:
    """The rows of ``app`` at one offered load every server measured itself: the highest
    open-model rate they share, else their closed loop; [] when there is none."""
    mine = [r for r in rows if r.app == app and r.status == "ok" and not r.driver_bound]
    servers = {r.server for r in rows if r.app == app}
    rates = sorted(
        {r.offered_rps for r in mine if r.load == "open" and r.offered_rps},
        reverse=True,
    )
    for rate in rates:
        at = [r for r in mine if r.load == "open" and r.offered_rps == rate]
        if {r.server for r in at} == servers:
            return at
    closed = [r for r in mine if r.load == "closed"]
    return closed if {r.server for r in closed} == servers and closed else []


def spectrum(blobs: list[str]) -> tuple[list[float], list[float]]:
    """(1/(1-p), latency ms) of the merged histograms, up to the percentile they can hold."""
    merged = merge(blobs)
    count = merged.get_total_count()
    xs, ys = [], []
    for percentile in PERCENTILES:
        if count * (1 - percentile / 100) < 1:  # fewer than one sample beyond it
            break
        xs.append(1 / (1 - percentile / 100))
        ys.append(merged.get_value_at_percentile(percentile) / 1000)
    return xs, ys


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    chosen = {app: comparable(rows, app) for app in apps_of(rows)}
    apps = [app for app, found in chosen.items() if found]
    if not apps:
        return None
    servers = servers_of(rows)
    figure, axes = panels(
        len(apps), "Latency by percentile (ms; percentiles on a 1/(1-p) scale)", width=5.6
    )
    for ax, app in zip(axes, apps, strict=True):
        widest = 10.0
        for row in chosen[app]:
            corrected, uncorrected = _histograms(row, layout)
            tint = color(servers, row.server)
            for blobs, style, label in ((corrected, "-", row.server), (uncorrected, ":", None)):
                if blobs:
                    xs, ys = spectrum(blobs)
                    ax.plot(xs, ys, color=tint, linestyle=style, label=label)
                    widest = max([widest, *xs])
        step = chosen[app][0]
        load = f"{step.offered_rps:,.0f} req/s offered" if step.load == "open" else step.step
        ax.set_title(f"{app}, {load}", fontsize=10)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("ms")
        ax.set_xticks(list(TICKS), list(TICKS.values()))
        ax.set_xlim(1, widest * 1.5)
        ax.set_xlabel("percentile")
        ax.grid(True, which="major", alpha=0.3)
    handles = axes[0].get_legend_handles_labels()[0]
    legend_below(figure, handles, ncol=min(len(handles), 4))
    figure.tight_layout()  # room for each panel's percentile label above the titles below it
    return figure


def _histograms(row: Row, layout: RunLayout) -> tuple[list[str], list[str]]:
    """The window histograms of the row's repeats that wrote them (from the intended send,
    and from the actual send where the open model recorded it)."""
    corrected, uncorrected = [], []
    for repeat in range(1, row.planned + 1):
        try:
            where = layout.repeat(row.server, row.app, row.step, repeat, row.paired)
            data = read_json(where.client_json)  # --paired: the bare twins', as the row's
        except ResultsError:
            continue
        if data.get("histogram_hdr_base64"):
            corrected.append(data["histogram_hdr_base64"])
        if data.get("uncorrected_hdr_base64"):
            uncorrected.append(data["uncorrected_hdr_base64"])
    return corrected, uncorrected
