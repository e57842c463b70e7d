"""report.html in a real browser (Debian's Chromium), as a reader uses it: a header clicked
sorts its table, words typed filter the every-row table, and the page prints to A4
landscape with every column on the paper."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from asgi_bench.report.page import render_report
from tests.browser import FLAGS, chromium, run_script

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parent / "data" / "run"

SORT_AND_FILTER = """
var table = document.getElementById("every-row-table");
var heads = Array.prototype.map.call(table.rows[0].cells, function (c) { return c.textContent });
var col = heads.indexOf("p50 ms");
function column() {
  return Array.prototype.slice.call(table.rows, 1).map(function (r) {
    return r.cells[col].textContent });
}
table.rows[0].cells[col].click();
var up = column();
table.rows[0].cells[col].click();
var down = column();
var box = document.querySelector("input.filter");
box.value = "granian sse";
box.dispatchEvent(new Event("input"));
var shown = Array.prototype.slice.call(table.rows, 1).filter(function (r) { return !r.hidden })
  .map(function (r) { return r.cells[0].textContent + " " + r.cells[1].textContent });
return {up: up, down: down, shown: shown, rows: table.rows.length - 1};
"""


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return render_report(Path(shutil.copytree(FIXTURE, tmp_path / "run")))


def test_a_clicked_header_sorts_and_typed_words_filter(report):
    seen = run_script(report, SORT_AND_FILTER)
    up = [float(text.replace(",", "")) for text in seen["up"]]
    assert len(up) == seen["rows"] == 12 and up == sorted(up)  # every row has a p50 here
    assert [float(text.replace(",", "")) for text in seen["down"]] == sorted(up, reverse=True)
    # granian's SSE rows: its closed loop and two open-model rates.
    assert seen["shown"] == ["granian sse"] * 3, seen["shown"]


def test_the_report_prints_to_a4_landscape_with_every_column(report, tmp_path):
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's poppler-utils (scripts/install)")
        pytest.skip("pdftoppm not installed (Debian's poppler-utils, scripts/install)")
    pdf = tmp_path / "report.pdf"
    with tempfile.TemporaryDirectory(prefix="asgi-bench-chromium-") as profile:
        printing = ["--no-pdf-header-footer", f"--print-to-pdf={pdf}"]
        subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *printing, report.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    size = next(line for line in info.stdout.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split(":")[1].split("pts")[0].split(" x "))
    assert (round(width), round(height)) == (842, 595), size  # A4 landscape, in points
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    # The every-row table's columns made it onto the paper, the last ones too (a header
    # may wrap over two lines: its words are looked for one by one).
    words = set(text.stdout.split())
    heads = ("req/s", "p99.9", "in-app", "CPU", "bound", "count", "check", "repeats", "noise")
    assert set(heads) <= words and "reason, notes" in text.stdout, sorted(set(heads) - words)
    pages = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(pages)], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) >= 2
