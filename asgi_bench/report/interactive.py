"""What makes report.html more than a printout, and a good one on paper: a few lines of inline
script (no network at view time) that sort a table by the header clicked and filter the
every-row table by the words typed; anchors for every section; the print stylesheet that fits
A4 landscape. Tables opt in with ``class='sortable'``; the filter box names its table."""

from __future__ import annotations

import re
from html import escape

STYLE = """
table.sortable th{cursor:pointer} table.sortable th[data-dir=asc]::after{content:" ▲"}
table.sortable th[data-dir=desc]::after{content:" ▼"}
td.best{font-weight:bold;background:#e8f5e9}
input.filter{font-size:14px;padding:3px 6px;width:28em}
nav a{margin-right:1em}
div.chart svg{max-width:100%;height:auto;border:1px solid #eee;margin:.5em 0}
@media print{
  @page{size:A4 landscape;margin:8mm}
  body{margin:0;max-width:none;font-size:10px}
  table{font-size:7px;page-break-inside:auto} tr{page-break-inside:avoid}
  th,td{padding:1px 3px} td.notes{min-width:0}
  img,div.chart{max-width:100%;page-break-inside:avoid}
  h2,h3{page-break-after:avoid} input.filter,nav{display:none}
  pre{white-space:pre-wrap;font-size:7px}
}
"""

# Numbers sort as numbers ("1,234", "≥12,000", "45%"), the rest as text, empty cells last.
SCRIPT = """
function key(cell){var t=cell?cell.textContent.trim():"";var n=parseFloat(t.replace(/[,≥%†]/g,""));
return isNaN(n)?t:n}
function order(a,b){if(typeof a===typeof b){return a<b?-1:a>b?1:0}return typeof a==="number"?-1:1}
document.querySelectorAll("table.sortable").forEach(function(table){
 Array.prototype.forEach.call(table.rows[0].cells,function(th,col){
  th.addEventListener("click",function(){
   var dir=th.dataset.dir==="asc"?"desc":"asc",sign=dir==="asc"?1:-1;
   Array.prototype.forEach.call(table.rows[0].cells,function(o){delete o.dataset.dir});
   th.dataset.dir=dir;
   var rows=Array.prototype.slice.call(table.rows,1);
   rows.sort(function(a,b){return sign*order(key(a.cells[col]),key(b.cells[col]))});
   rows.forEach(function(r){r.parentNode.appendChild(r)});
  });
 });
});
document.querySelectorAll("input.filter").forEach(function(input){
 var table=document.getElementById(input.dataset.table);
 input.addEventListener("input",function(){
  var words=input.value.toLowerCase().split(/\\s+/).filter(Boolean);
  Array.prototype.slice.call(table.rows,1).forEach(function(r){
   var text=r.textContent.toLowerCase();
   r.hidden=!words.every(function(w){return text.indexOf(w)>=0});
  });
 });
});
"""


def anchor(title: str) -> str:
    """The id of a section titled ``title``.

    >>> anchor("At the same offered load"), anchor("HTTP/1.1 and HTTP/2")
    ('at-the-same-offered-load', 'http-1-1-and-http-2')
    """
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def section(title: str) -> str:
    return f"<h2 id='{anchor(title)}'>{escape(title)}</h2>"


def contents(titles: list[str]) -> str:
    """Links to every section, at the top of the page."""
    links = "".join(f"<a href='#{anchor(t)}'>{escape(t)}</a>" for t in titles)
    return f"<nav>{links}</nav>"


def filter_box(table_id: str) -> str:
    return (
        f"<input class='filter' data-table='{table_id}' type='search' "
        "placeholder='filter rows: e.g. uvicorn open failed'>"
    )
