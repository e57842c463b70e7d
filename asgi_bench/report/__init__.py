"""The report of a run: ``report.html`` with its tables, and the charts, each one small
module in :mod:`~asgi_bench.report.charts` and one line of its table.

It reads results (rows, the run's manifest, the layout), so a report rebuilt later from the
files says what the run said; it may import verdict's formatting and SLOs and the names of
the capabilities run/ probes, never commands/.
"""
