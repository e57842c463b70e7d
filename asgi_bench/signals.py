"""Stop signals: Ctrl+C (SIGINT), SIGTERM (``docker stop``, CI time-outs, systemd) and SIGHUP
(a closed terminal or SSH session) all get the same treatment.

The first one raises :class:`Interrupted` in the main thread, so every resource is released
on the way out and the partial results are written; later ones are ignored (with a line),
so that clean-up can finish. The process then exits with 128 + the signal's number.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from asgi_bench.errors import Interrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_signals(on_repeat: Callable[[str], None] = lambda _: None) -> Iterator[list[str]]:
    """Within this block a stop signal raises :class:`Interrupted` once; the names of the
    signals received are collected in the yielded list."""
    received: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        received.append(name)
        if len(received) > 1:
            on_repeat(name)
            return
        raise Interrupted(signum, name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
