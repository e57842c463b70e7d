"""Open-model load inside Locust: requests start on a schedule, whatever the server does.

One :class:`OpenUser` runs per Locust process (the harness sets ``--users`` to the number of
processes) and offers ``--asgi-bench-rate`` requests per second, at constant spacing or as
Poisson arrivals (``--asgi-bench-arrival``). Each arrival is *dispatched* by the scheduler
at (or, if the driver falls behind, after) its intended time, then waits for one of the
``--asgi-bench-concurrency`` connection slots of its process, and is timed twice:

* **corrected**: from its *intended* time; this is the latency a real client arriving at
  that moment would see, stalls and queueing for a connection included (no coordinated
  omission), and it is what Locust's own stats and the recorder's headline histogram get;
* **uncorrected**: from the moment it actually went out on a connection.

The driver's own lag is the time from intended to dispatched: an arrival dispatched more
than ``--asgi-bench-late-ms`` after its intended time is *late* (the driver could not keep
the schedule). Waiting for a slot is not lateness: a slow server causes it, and it stays in
the corrected latency. An arrival that finds ``--asgi-bench-max-pending`` others waiting is
*dropped* (never sent). The recorder counts all of these and decides the window by intended
time. The achieved rate counts what a worker actually put on the wire inside the window:
an arrival dispatched on time into a driver too busy to send it has not been offered to the
server. The settings are custom Locust arguments, which a master forwards to its workers.

A workload's Locust file adds an open user by mixing its ``call`` (one request on one slot's
client, :class:`~asgi_bench.loadtests.rawhttp.Requests`) into :class:`OpenUser` and, when
its client is not plain HTTP, writing :meth:`OpenUser.connect`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections import deque
from typing import Any

import gevent
from gevent.hub import Waiter
from gevent.pool import Group
from locust import User, constant, events, task
from locust.runners import WorkerRunner
from locust.user.task import LOCUST_STATE_RUNNING

from asgi_bench.loadtests import split_host
from asgi_bench.loadtests.client import connect
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.recorder import RECORDER


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    # On the parser itself: an argument group does not take Locust's include_in_web_ui. The
    # rate, arrival and slots are fields of the web UI's start form; the rest stay hidden.
    hidden = {"include_in_web_ui": False}
    parser.add_argument(
        "--asgi-bench-rate", type=float, default=100.0, help="open model: req/s per user"
    )
    parser.add_argument(
        "--asgi-bench-arrival", default="constant", choices=("constant", "poisson"),
        help="open model: arrivals at constant spacing or poisson",
    )  # fmt: skip
    parser.add_argument(
        "--asgi-bench-concurrency", type=int, default=32,
        help="open model: connection slots per user",
    )  # fmt: skip
    parser.add_argument("--asgi-bench-max-pending", type=int, default=0, **hidden)
    parser.add_argument("--asgi-bench-late-ms", type=float, default=1.0, **hidden)
    parser.add_argument("--asgi-bench-seed", type=int, default=0, **hidden)


def _sleep_first(seconds: float) -> None:
    """``gevent.sleep`` on a timer of the highest priority: when it expires together with a
    burst of responses, the schedule runs before their callbacks, not after all of them."""
    hub = gevent.get_hub()
    timer = hub.loop.timer(max(0.0, seconds), priority=hub.loop.MAXPRI)
    try:
        hub.wait(timer)
    finally:
        timer.close()


class OpenUser(Requests, User):
    """Offers a fixed rate of requests; subclasses say what one request is."""

    abstract = True
    wait_time = constant(0)
    name = "/"  # the request event's name
    request_type = "GET"

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.rate = float(options.asgi_bench_rate)  # per process: the harness divides
        self.poisson = options.asgi_bench_arrival == "poisson"
        self.concurrency = max(1, int(options.asgi_bench_concurrency))
        self.max_pending = int(options.asgi_bench_max_pending) or 20 * self.concurrency
        self.late_s = float(options.asgi_bench_late_ms) / 1000
        self.random = random.Random(f"{options.asgi_bench_seed}-{id(self)}")
        self.prefix = split_host(self.host or "")[3]
        # One worker greenlet per connection slot. An arrival goes to the worker idle the
        # shortest time (last in, first out), so a server that keeps up sees as few
        # connections as the load needs, as a real client's pool would; when none is idle
        # it waits in the backlog (the driver-side wait for a free connection).
        self.backlog: deque[tuple[float, float, float]] = deque()
        self.idle: list[Waiter] = []
        self.sent = 0  # requests on the wire now
        self.due, self.offset = math.inf, 0.0  # the next arrival's intended time, once started
        self.hub = gevent.get_hub()
        self.workers = Group()
        for _ in range(self.concurrency):
            self.workers.spawn(self.work)

    def connect(self) -> Any:
        """A client for one slot: one keep-alive HTTP/1.1 connection by default, or a share
        of an HTTP/2 connection for an HTTP/2 step (:mod:`asgi_bench.loadtests.client`)."""
        return connect(self.host or "")

    @task
    def schedule(self) -> None:
        """Dispatch arrivals on time until the user is asked to stop."""
        start = time.perf_counter()
        self.offset = time.time() - start  # perf_counter -> unix time, for the window
        self.due = start
        while self._state == LOCUST_STATE_RUNNING:
            self.dispatch()
            _sleep_first(self.due - time.perf_counter())

    def dispatch(self) -> None:
        """Dispatch every arrival that is due. The workers call it too, after each answer:
        answers come in bursts, each a worker's tens of µs, and the scheduler's timer is
        only looked at between bursts, so a burst of 32 would make an arrival a millisecond
        late. Whoever runs when an arrival is due dispatches it."""
        if self._state != LOCUST_STATE_RUNNING:
            return
        now = time.perf_counter()
        due, offset = self.due, self.offset
        while due <= now:
            RECORDER.scheduled(due + offset)
            if self.idle:
                # Straight to the waiting worker on the hub's next turn: no event object
                # and notifier per arrival (see work()).
                self.hub.loop.run_callback(self.idle.pop().switch, (due, now, offset))
            elif len(self.backlog) >= self.max_pending:
                RECORDER.dropped(due + offset)
            else:
                self.backlog.append((due, now, offset))
            due += self.random.expovariate(self.rate) if self.poisson else 1 / self.rate
        self.due = due

    def work(self) -> None:
        """One connection slot: send the next dispatched arrival, time it, repeat."""
        client = None
        # One Waiter for the worker's life: it is in ``idle`` only while this greenlet waits
        # in its get(), so each dispatch switches straight to it and none is ever stored.
        handoff = Waiter(self.hub)
        while True:
            if self.backlog:
                intended, dispatched, offset = self.backlog.popleft()
            else:
                self.idle.append(handoff)
                intended, dispatched, offset = handoff.get()
            sent = time.perf_counter()
            RECORDER.on_wire(sent + offset)
            self.sent += 1
            length, error = 0, None
            try:
                if client is None:
                    client = self.connect()
                length = self.call(client)
            except Exception as exc:
                error = exc
                _close(client)
                client = None  # a failed connection is not reused
            finally:
                self.sent -= 1
            done = time.perf_counter()
            self.environment.events.request.fire(
                request_type=self.request_type,
                name=self.name,
                response_time=(done - intended) * 1000,
                response_length=length,
                exception=error,
                context={
                    "intended": intended + offset,
                    "uncorrected_ms": (done - sent) * 1000,
                    "lag_ms": (dispatched - intended) * 1000,
                    "late": dispatched - intended > self.late_s,
                },
            )
            if self.due <= done:
                self.dispatch()

    def on_stop(self) -> None:
        """Give the arrivals in flight the stop timeout to finish. Of the rest, those sent
        and never answered are unfinished (the server's); those still waiting for a slot
        were never sent (dropped: the driver never offered them)."""
        self.due = math.inf  # no worker dispatches another arrival
        deadline = time.monotonic() + max(0.0, (self.environment.stop_timeout or 0) - 0.5)
        while (self.sent or self.backlog) and time.monotonic() < deadline:
            gevent.sleep(0.01)
        RECORDER.unfinished(self.sent)
        RECORDER.never_sent(len(self.backlog))
        self.workers.kill(block=False)


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close too
            close()


@events.test_start.add_listener
def _one_load_shape(environment: Any, **_: Any) -> None:
    """Refuse a test that mixes open-model and closed-loop users (the web UI's class picker
    selects every class until told otherwise): their requests would share one row of
    Locust's table, latency from the intended send averaged with closed-loop latency."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return  # a worker lists every class of its file; its master knows which it spawns
    classes = list(getattr(runner, "user_classes", None) or [])
    opens = [c.__name__ for c in classes if issubclass(c, OpenUser)]
    if opens and len(opens) != len(classes):
        others = [c.__name__ for c in classes if not issubclass(c, OpenUser)]
        logging.getLogger("asgi-bench").error(
            "one load shape at a time: pick the open model (%s) or the closed loop (%s), "
            "not both; the test is stopped",
            ", ".join(opens),
            ", ".join(others),
        )
        gevent.spawn(runner.stop)
