"""asgi-bench: the same raw ASGI apps under several servers, driven by Locust, compared."""

__version__ = "0.1.0"
