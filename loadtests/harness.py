"""The harness's Locust plugin: ``locust -f loadtests/harness.py,loadtests/hello.py ...``.

It only imports :mod:`asgi_bench.loadtests.recorder` by its package name, which registers
the recorder's listeners once, however many Locust files also import it.
"""

from asgi_bench.loadtests import recorder  # noqa: F401
