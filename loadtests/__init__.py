"""Locust files, one per app, usable by hand: ``locust -f loadtests/hello.py --host ...``.

Naming convention for request events (the harness relies on it):

* ``request_type`` an HTTP method (``GET``, ``POST``) or ``WS``: one real request or echo
  round trip. These are counted as requests and feed the headline latency histogram.
* any other ``request_type`` (``TTFB``, ``FIRST``, ``CONNECT``): an auxiliary timing of the
  same request, reported separately and never counted twice.
"""

# HDR histogram range in microseconds, shared by the recorder and the harness. This module
# must not import locust: the harness imports it, and locust monkey-patches with gevent.
LOWEST_US, HIGHEST_US = 1, 3_600_000_000

COUNTED_TYPES = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS"})
