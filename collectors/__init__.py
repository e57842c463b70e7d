"""Measurement on the server side: the Prometheus ASGI middleware and the collectors that
sample processes and scrape metrics during a run."""
