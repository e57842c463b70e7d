"""The results format: every path of a run folder, the repeat model and how it is read
back, the run's provenance (run.json), the summary rows and their aggregation, the
summary writer and the capacities read from the rows.

It may import verdict's statistics and SLOs (a row is aggregated and judged as it is
written), system/ and the top-level modules; never run/, report/ or commands/. Nothing
else spells a results file's name: :mod:`~asgi_bench.results.layout` owns them all.
"""
