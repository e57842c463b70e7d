"""The harness's Locust plugin: ``locust -f loadtests/harness.py,loadtests/hello.py ...``.

It imports the recorder and the open model by their package names, which registers the
recorder's listeners and the open model's command-line arguments once, however many Locust
files also import them.
"""

from asgi_bench.loadtests import openloop, recorder  # noqa: F401
