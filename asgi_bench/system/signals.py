"""Stop signals: Ctrl+C (SIGINT), SIGTERM (``docker stop``, CI time-outs, systemd) and SIGHUP
(a closed terminal or SSH session) all get the same treatment.

The first one raises :class:`Interrupted` in the main thread, so every resource is released
on the way out and the partial results are written; later ones are ignored (with a line),
so that clean-up can finish. The process then exits with 128 + the signal's number. While
the last results are written (:meth:`Stops.deferred`), a signal raises nothing: it is noted,
so that the writes finish and then say the run was interrupted. Inside
:func:`signals_held` (a child process starting) the first one is raised when the block ends,
once the process has an owner that stops it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from asgi_bench.errors import Interrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Held:
    depth = 0
    pending: Interrupted | None = None


_HELD = _Held()


@contextmanager
def signals_held() -> Iterator[None]:
    """A stop signal inside this block is raised when it ends, not inside it (nor inside
    ``subprocess.Popen``, which would leave its child running and unowned). Signals reach
    only the main thread; elsewhere this holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _HELD.depth += 1
    try:
        yield
    finally:
        _HELD.depth -= 1
        if _HELD.depth == 0 and _HELD.pending is not None:
            pending, _HELD.pending = _HELD.pending, None
            raise pending


@dataclass
class Stops:
    """The stop signals received inside :func:`stop_signals`, by name, in order."""

    received: list[str] = field(default_factory=list)
    deferring: bool = False
    deferred_signal: int | None = None  # the first signal that arrived while deferring

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Within this block a stop signal is noted in ``deferred_signal``, not raised."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False


@contextmanager
def stop_signals(on_repeat: Callable[[str], None] = lambda _: None) -> Iterator[Stops]:
    """Within this block a stop signal raises :class:`Interrupted` once (or, deferred, is
    noted); the signals received are collected in the yielded :class:`Stops`."""
    stops = Stops()

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        stops.received.append(name)
        if stops.deferring:
            if stops.deferred_signal is None:
                stops.deferred_signal = signum
            return
        if len(stops.received) > 1:
            on_repeat(name)
            return
        if _HELD.depth:
            _HELD.pending = Interrupted(signum, name)
            return
        raise Interrupted(signum, name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield stops
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
