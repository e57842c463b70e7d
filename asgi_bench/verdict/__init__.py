"""Judge what a measurement saw: pure functions of figures, no processes, no files.

The client's numbers of one window (:mod:`~asgi_bench.verdict.client`), the judge that
turns a repeat's facts into its figures and status, the one rule for driver-limited
(:mod:`~asgi_bench.verdict.limits`), statistics over repeats, SLOs, CPU interference and
the comparison of two runs. It may import the values run/ hands it (a Job, an Observation,
a Sampler's samples, a ServerState), results' models (the Repeat it fills, a loaded run,
which twins a row's figure is read from), system/ and the top-level modules; never report/
or commands/.
"""
