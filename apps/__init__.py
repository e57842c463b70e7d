"""Raw ASGI apps, no framework: each is importable as ``apps.<name>:app``.

Every module declares ``ROUTES``, the route table that the Prometheus middleware uses for
its ``route`` label (unknown paths collapse to ``<unmatched>``).
"""
