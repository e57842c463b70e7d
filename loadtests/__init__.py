"""Locust files, one per app, usable by hand: ``locust -f loadtests/hello.py --host ...``.

Naming convention for request events (the harness relies on it):

* ``request_type`` an HTTP method (``GET``, ``POST``) or ``WS``: one real request or echo
  round trip. These are counted as requests and feed the headline latency histogram.
* any other ``request_type`` (``TTFB``, ``FIRST``, ``CONNECT``): an auxiliary timing of the
  same request, reported separately and never counted twice.
"""

from urllib.parse import urlsplit

# HDR histogram range in microseconds, shared by the recorder and the harness. This module
# must not import locust: the harness imports it, and locust monkey-patches with gevent.
LOWEST_US, HIGHEST_US = 1, 3_600_000_000

# What every HTTP/1.1 request of the built-in workloads is, closed loop and open model alike
# (loadtests/rawhttp.py builds it; run.json records it): no User-Agent, no Accept-Encoding.
REQUEST_HEAD = "METHOD PATH HTTP/1.1\r\nHost: HOST:PORT\r\n[Content-Length: N\r\n]\r\n"

COUNTED_TYPES = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS"})


def split_host(host: str) -> tuple[str, str, int, str]:
    """``https://127.0.0.1:8000/app`` -> ``("https", "127.0.0.1", 8000, "/app")``.

    The path is kept: under ``apps.combined`` each app lives under its own prefix.
    """
    parsed = urlsplit(host)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.hostname or "127.0.0.1", port, parsed.path.rstrip("/")
