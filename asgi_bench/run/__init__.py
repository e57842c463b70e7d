"""Run the plan: the stage that starts processes and measures.

It owns the plan (cells x steps x repeats in a seeded order), the runner (a session of
named steps: plan, measure each repeat, search, finish), one repeat's lifecycle
(:mod:`~asgi_bench.run.lifecycle`: phases over context-managed resources), the local
resources behind it (the server process, the Locust driver, the server's counters), the
capability probes, the samplers of CPU and memory, the capacity search and the driver's
figure. It may import the verdict, results and system packages, servers/, load/ and the
top-level modules; nothing below it imports it.
"""
