"""``report.html``: one self-contained page (charts inlined) that opens from disk.

:func:`render_report` rebuilds the summary, the charts and the page from the cell folders,
so ``asgi-bench report RUN_DIR`` can be run again at any time.
"""

from __future__ import annotations

import base64
import json
import math
from html import escape
from pathlib import Path
from typing import Any

from asgi_bench.charts import draw_all
from asgi_bench.probes import CAPABILITY_NAMES
from asgi_bench.results import CellResult, load_cells, write_summary

COLUMNS = (
    ("rps", "req/s", "{:,.0f}"),
    ("p50_ms", "p50 ms", "{:.2f}"),
    ("p90_ms", "p90 ms", "{:.2f}"),
    ("p99_ms", "p99 ms", "{:.2f}"),
    ("p999_ms", "p99.9 ms", "{:.2f}"),
    ("max_ms", "max ms", "{:.1f}"),
    ("server_p50_ms", "server p50", "{:.3f}"),
    ("server_p99_ms", "server p99", "{:.3f}"),
    ("server_ttfb_p50_ms", "server TTFB p50", "{:.3f}"),
    ("errors", "errors", "{:,}"),
    ("cpu_us_per_request", "CPU µs/req", "{:.0f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
    ("driver_busy", "driver busy", "{:.0%}"),
)

MODES = {
    "instrumented": "apps wrapped in the Prometheus middleware",
    "bare": "bare apps, no middleware",
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3} td.l{text-align:left}
.ok{color:#2ca02c}.failed{color:#d62728;font-weight:bold}.unsupported{color:#888}
.banner{background:#fff4d6;border:1px solid #e0b000;padding:.6em 1em;margin:1em 0}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}
"""


def render_report(run_dir: Path) -> Path:
    manifest = json.loads((run_dir / "run.json").read_text())
    cells = load_cells(run_dir)
    write_summary(run_dir, cells)
    charts = draw_all(cells, run_dir)
    parts = [
        f"<h1>asgi-bench run {escape(manifest['run_id'])}</h1>",
        _overview(manifest, cells),
        *_banners(manifest, cells),
        "<h2>Summary</h2>",
        _summary_table(cells),
        "<h2>Charts</h2>",
        *(_image(name, path) for name, path in charts.items()),
        "<h2>Capabilities observed</h2>",
        _capability_table(cells),
        *_failures(cells),
        "<h2>Manifest</h2>",
        f"<pre>{escape(json.dumps(manifest, indent=2))}</pre>",
    ]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>asgi-bench "
        f"{escape(manifest['run_id'])}</title><style>{STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _overview(manifest: dict[str, Any], cells: list[CellResult]) -> str:
    config, host = manifest["config"], manifest["host"]
    split = manifest["cpu_split"]
    if config.get("targets"):
        # The servers run elsewhere (containers): their workers and CPUs are set there.
        servers = "servers already running (targets mode: workers and CPUs set where they run)"
    else:
        servers = f"{config['workers']} server worker(s) on CPUs {split['server']}"
    return (
        f"<p>{len(cells)} cells; {config['warmup']:g}s warm-up + {config['duration']:g}s measured"
        f" each, {config['users']} Locust users in {config['driver_processes']} process(es) on "
        f"CPUs {split['driver']}, {servers}, TLS {'on' if config['tls'] else 'off'}. "
        f"Mode: <b>{escape(manifest['mode'])}</b> ({MODES.get(manifest['mode'], '')}). "
        f"Host {escape(str(host['hostname']))}: {host['cpu_count']} CPUs "
        f"({escape(host['cpu_model'])}), kernel {escape(host['kernel'])}. "
        f"git {escape(str(manifest['git']['sha'])[:12])}"
        f"{' (dirty)' if manifest['git']['dirty'] else ''}.</p>"
    )


def _banners(manifest: dict[str, Any], cells: list[CellResult]) -> list[str]:
    banners = []
    if manifest.get("interrupted"):
        banners.append("This run was interrupted: only the cells below were completed.")
    bound = sorted({c.server for c in cells if c.driver_bound})
    if bound:
        banners.append(
            f"Locust was at least 90% busy for {', '.join(bound)}: their throughput is a lower "
            "bound set by the driver, not by the server, so they are not ranked by it here. "
            "Compare CPU µs per request instead, or add driver processes on a bigger machine."
        )
    mismatched = [c.key for c in cells if c.count_match is False]
    if mismatched:
        banners.append("Server-side and Locust request counts differ for: " + ", ".join(mismatched))
    return [f"<div class='banner'>{escape(text)}</div>" for text in banners]


def _fmt(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def _summary_table(cells: list[CellResult]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label, _ in COLUMNS)
    rows = []
    for c in cells:
        values = []
        for field, _, fmt in COLUMNS:
            text = _fmt(getattr(c, field), fmt)
            if field == "rps" and c.driver_bound and text != "–":
                text = "≥" + text
            values.append(f"<td>{escape(text)}</td>")
        count = {True: "✓", False: "✗", None: "–"}[c.count_match]
        rows.append(
            f"<tr><td class='l'>{escape(c.server)}</td><td class='l'>{escape(c.app)}</td>"
            f"<td class='l {c.status}'>{c.status}</td>{''.join(values)}"
            f"<td>{count}</td><td class='l'>{escape(c.reason)}</td></tr>"
        )
    return (
        f"<table><tr><th>server</th><th>app</th><th>status</th>{head}<th>count check</th>"
        f"<th>reason</th></tr>{''.join(rows)}</table>"
    )


def _capability_table(cells: list[CellResult]) -> str:
    observed: dict[str, dict[str, list[bool]]] = {}
    for cell in cells:
        row = observed.setdefault(cell.server, {})
        for capability, ok in cell.capabilities.items():
            row.setdefault(capability, []).append(ok)
    head = "".join(f"<th>{escape(name.replace('_', ' '))}</th>" for name in CAPABILITY_NAMES)
    rows = []
    for server, row in observed.items():
        marks = []
        for name in CAPABILITY_NAMES:
            seen = row.get(name)
            mark = (
                "–"
                if not seen
                else ("<span class='ok'>✓</span>" if all(seen) else "<span class='failed'>✗</span>")
            )
            marks.append(f"<td>{mark}</td>")
        rows.append(f"<tr><td class='l'>{escape(server)}</td>{''.join(marks)}</tr>")
    return (
        f"<table><tr><th>server</th>{head}</tr>{''.join(rows)}</table>"
        "<p>✓ seen working, ✗ seen not working, – not exercised in this run.</p>"
    )


def _failures(cells: list[CellResult]) -> list[str]:
    failed = [c for c in cells if c.status != "ok"]
    if not failed:
        return []
    items = [
        f"<h3>{escape(c.key)}: {c.status}</h3><p>{escape(c.reason)}</p>"
        + (f"<pre>{escape(c.log_tail)}</pre>" if c.log_tail else "")
        for c in failed
    ]
    return ["<h2>Failed and unsupported cells</h2>", *items]


def _image(name: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f"<h3>{escape(name.replace('_', ' '))}</h3><img alt='{escape(name)}' "
        f"src='data:image/png;base64,{data}'>"
    )
