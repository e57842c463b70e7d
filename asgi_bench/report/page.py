"""``report.html``: one self-contained page (charts inlined) that opens from disk.

:func:`render_report` rebuilds the summary, the charts and the page from the repeat folders,
so ``asgi-bench report RUN_DIR`` can be run again at any time. It renders what it can: a
damaged file is listed as damaged with its reason and everything else is shown.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

from asgi_bench.report import interactive
from asgi_bench.report.charts import draw_all
from asgi_bench.report.frameworks import framework_table
from asgi_bench.report.interactive import contents, filter_box, section
from asgi_bench.report.profiles import profile_section
from asgi_bench.report.protocols import protocol_table
from asgi_bench.report.tables import capacity_table, peak_table, same_load, summary_table
from asgi_bench.results.layout import write_text
from asgi_bench.results.read import load_run
from asgi_bench.results.rows import NOISE, Row
from asgi_bench.results.summary import rows_of, write_summary
from asgi_bench.run.capabilities import CAPABILITY_NAMES

EVERY_ROW = "every-row-table"  # the section above it is #every-row
MODES = {
    "instrumented": "apps wrapped in the Prometheus middleware",
    "bare": "bare apps, no middleware",
    "paired": "each repeat bare and instrumented in turn: latency, throughput and CPU from the "
    "bare ones, in-app figures and count checks from the instrumented ones; the instrument's "
    "CPU cost per row in the every-row table",
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1500px}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3} td.l{text-align:left} td.notes{text-align:left;min-width:320px}
.ok{color:#2ca02c}.failed{color:#d62728;font-weight:bold}.unsupported{color:#888}
.banner{background:#fff4d6;border:1px solid #e0b000;padding:.6em 1em;margin:1em 0}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}
"""


def render_report(run_dir: Path) -> Path:
    loaded = load_run(run_dir)
    layout, manifest = loaded.layout, loaded.manifest
    rows = rows_of(loaded.repeats, manifest)
    found = write_summary(layout, rows, manifest)
    charts, chart_failures = draw_all(rows, layout)
    run_id = str(manifest.get("run_id", run_dir.name))
    sections: list[tuple[str, list[str]]] = [
        ("At the same offered load", same_load(rows)),
        ("HTTP/1.1 and HTTP/2", [h2] if (h2 := protocol_table(rows)) else []),
        ("What a framework costs", [fw] if (fw := framework_table(rows)) else []),
        ("Capacity at the SLO", [capacity_table(found)] if found else []),
        ("Peak throughput (closed loop)", [peak] if (peak := peak_table(rows)) else []),
        ("Where the time goes (profiles)", profile_section(rows, layout)),
        ("How far to trust these numbers", _noise(rows)),
        ("Every row", [filter_box(EVERY_ROW), summary_table(rows, EVERY_ROW)]),
        ("Charts", [_image(name, Path(path)) for name, path in charts.items()]),
        ("Capabilities observed", [_capability_table(rows)]),
        ("Failed and unsupported rows", _failures(rows)),
        ("Damaged results", _damaged(loaded.damaged)),
        ("Manifest", [f"<pre>{escape(json.dumps(manifest, indent=2))}</pre>"]),
    ]
    shown = [(title, body) for title, body in sections if body]
    parts = [
        f"<h1>asgi-bench run {escape(run_id)}</h1>",
        contents([title for title, _ in shown]),
        _overview(manifest, rows),
        *_banners(manifest, rows, loaded.damaged, chart_failures),
        *(part for title, body in shown for part in (section(title), *body)),
    ]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>asgi-bench "
        f"{escape(run_id)}</title><style>{STYLE}{interactive.STYLE}</style></head><body>"
        + "\n".join(parts)
        + f"<script>{interactive.SCRIPT}</script></body></html>\n"
    )
    write_text(layout.report_html, page)
    return layout.report_html


def _overview(manifest: dict[str, Any], rows: list[Row]) -> str:
    config = manifest.get("config") or {}
    settings = manifest.get("settings") or {}
    host = manifest.get("host") or {}
    split = manifest.get("cpu_split") or {}
    harness = manifest.get("harness") or {}
    if config.get("targets"):
        # The servers run elsewhere (containers): their workers and CPUs are set there.
        servers = "servers already running (targets mode: workers and CPUs set where they run)"
    else:
        servers = f"{config.get('workers', '?')} server worker(s) on CPUs {split.get('server')}"
    git = harness.get("git") or {}
    sha = str(git.get("sha") or "unknown")[:12] + (" (dirty)" if git.get("dirty") else "")
    mode = str(manifest.get("mode", "?"))
    return (
        f"<p>{len(rows)} rows; {settings.get('warmup', '?')}s warm-up + "
        f"{settings.get('duration', '?')}s measured per repeat, "
        f"{settings.get('driver_processes', config.get('driver_processes', '?'))} Locust "
        f"process(es) on CPUs {split.get('driver')}, "
        f"{escape(servers)}, TLS {'on' if config.get('tls') else 'off'}. "
        f"Mode: <b>{escape(mode)}</b> ({MODES.get(mode, '')}). "
        f"Host {escape(str(host.get('hostname', '?')))}: {host.get('cpu_count', '?')} CPUs "
        f"({escape(str(host.get('cpu_model', '?')))}), "
        f"kernel {escape(str(host.get('kernel', '?')))}. "
        f"asgi-bench {escape(str(harness.get('version', '?')))}, git {escape(sha)}.</p>"
    )


def _banners(
    manifest: dict[str, Any],
    rows: list[Row],
    damaged: list[tuple[str, str]],
    chart_failures: dict[str, str],
) -> list[str]:
    banners = []
    if manifest.get("interrupted"):
        by = manifest.get("interrupted_by") or "a signal"
        banners.append(f"This run was interrupted by {by}: only the rows below were measured.")
    elif manifest.get("error"):
        banners.append(f"This run stopped early: {manifest['error']}")
    elif manifest.get("completed") is False and manifest.get("finished_at") is None:
        banners.append("This run did not finish (no finish time recorded): it may be partial.")
    if damaged:
        banners.append(f"{len(damaged)} result file(s) are damaged and left out; see below.")
    bound = sorted({r.server for r in rows if r.driver_bound})
    if bound:
        banners.append(
            f"The driver, not the server, limited some rows of {', '.join(bound)} (busy, late, "
            "or short of the offered rate; marked † and hollow): their throughput is a lower "
            "bound and their latency is not the server's, so they are not ranked by it here. "
            "Compare the other rows, or add driver processes on a bigger machine."
        )
    mismatched = [f"{r.cell} {r.step}" for r in rows if r.count_check == "mismatch"]
    if mismatched:
        banners.append("Server-side and driver request counts differ for: " + ", ".join(mismatched))
    for name, why in chart_failures.items():
        banners.append(f"Chart {name} could not be drawn: {why}")
    return [f"<div class='banner'>{escape(text)}</div>" for text in banners]


def _noise(rows: list[Row]) -> list[str]:
    noisy = [f"{r.cell} {r.step}" for r in rows if r.noisy]
    unsteady = [f"{r.cell} {r.step}" for r in rows if r.unsteady]
    single = all(r.repeats <= 1 for r in rows)
    if not (noisy or unsteady or single):
        return []
    items = []
    if single:
        items.append(
            "Each row ran once: there is no interval and no noise estimate. Run with "
            "<code>--repeat 3</code> (or more) to see how far a figure can be trusted."
        )
    if noisy:
        items.append(
            f"Noisy (repeats vary more than {NOISE['closed'][1]:.0%} in throughput or "
            f"{NOISE['open'][1]:.0%} in p50): "
            f"{escape(', '.join(noisy))}. "
            "Differences smaller than their intervals are not differences. Add repeats "
            "(<code>--repeat 5</code>), lengthen the windows (<code>--duration</code>), and look "
            "for interference notes: another process or the hypervisor on the pinned CPUs."
        )
    if unsteady:
        items.append(
            "Unsteady windows (a trend or a step inside the window): "
            f"{escape(', '.join(unsteady))}. Lengthen the warm-up (<code>--warmup</code>) or "
            "the window, or look at the timeline chart."
        )
    return [f"<p>{item}</p>" for item in items]


def _capability_table(rows: list[Row]) -> str:
    observed: dict[str, dict[str, bool]] = {}
    for row in rows:
        seen = observed.setdefault(row.server, {})
        for capability, ok in row.capabilities.items():
            seen[capability] = seen.get(capability, True) and ok
    head = "".join(f"<th>{escape(name.replace('_', ' '))}</th>" for name in CAPABILITY_NAMES)
    body = []
    for server, seen in observed.items():
        marks = []
        for name in CAPABILITY_NAMES:
            mark = (
                "–"
                if name not in seen
                else (
                    "<span class='ok'>✓</span>" if seen[name] else "<span class='failed'>✗</span>"
                )
            )
            marks.append(f"<td>{mark}</td>")
        body.append(f"<tr><td class='l'>{escape(server)}</td>{''.join(marks)}</tr>")
    return (
        f"<table><tr><th>server</th>{head}</tr>{''.join(body)}</table>"
        "<p>✓ seen working, ✗ seen not working, – not exercised in this run.</p>"
    )


def _failures(rows: list[Row]) -> list[str]:
    failed = [r for r in rows if r.status != "ok"]
    if not failed:
        return []
    items = [
        f"<h3>{escape(r.cell)} {escape(r.step)}: {r.status}</h3><p>{escape(r.reason)}</p>"
        + (f"<pre>{escape(r.log_tail)}</pre>" if r.log_tail else "")
        for r in failed
    ]
    return items


def _damaged(damaged: list[tuple[str, str]]) -> list[str]:
    if not damaged:
        return []
    items = "".join(f"<li><code>{escape(p)}</code>: {escape(why)}</li>" for p, why in damaged)
    return [f"<ul>{items}</ul>"]


def _image(name: str, path: Path) -> str:
    """A chart, inline: its SVG (sharp at any zoom and on paper, values on hover), else its
    PNG as an image."""
    title = name.replace("_", " ")
    head = f"<h3 id='chart-{escape(name)}'>{escape(title)}</h3>"
    svg = path.with_suffix(".svg")
    if svg.exists():
        text = svg.read_text(encoding="utf-8")
        return f"{head}<div class='chart'>{text[text.index('<svg') :]}</div>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"{head}<img alt='{escape(title)}' src='data:image/png;base64,{data}'>"
