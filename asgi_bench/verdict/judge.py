"""Turn what a measurement saw into a :class:`Repeat`: every figure, and the status decided in
one place.

Rules, in order: a failure seen by a phase fails the repeat; so does a window in which no
request succeeded, a share of failed requests above ``--max-error-rate``, a worker that
stopped reporting, and a count check that found a mismatch. A workload needing what the
server neither claims nor was seen to do is ``unsupported``. Everything else is ``ok``, with
notes (driver-bound, a check that could not be made, a figure that could not be measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from asgi_bench.results.repeat import Repeat
from asgi_bench.run.capabilities import Observation
from asgi_bench.run.plan import Job
from asgi_bench.run.samplers import Sampler
from asgi_bench.run.state import ServerState, quantile
from asgi_bench.types import Status
from asgi_bench.verdict import stats
from asgi_bench.verdict.client import ClientStats
from asgi_bench.verdict.interference import INTERFERENCE_AT, CpuTimes, all_pinned, interference
from asgi_bench.verdict.limits import (
    BOUND_AT,
    LATE_AT,
    MAX_ERROR_RATE,
    DriverSide,
    driver_limit,
)

SILENCE_RATE = 10  # answers per second above which a silent second is a stopped server


@dataclass(frozen=True)
class Policy:
    """The run settings the judgement depends on."""

    max_error_rate: float = MAX_ERROR_RATE
    pinned_cpus: tuple[int, ...] = ()  # the server's and the driver's CPUs, when pinned here
    server_capacity: int = 1  # CPUs the server can use: min(workers, server CPUs)
    workers: int = 1
    tls: bool = False
    metrics: bool = True
    concurrency: int = 1  # most requests in flight at once: the window count's tolerance


@dataclass
class Facts:
    """What the phases of one measurement saw."""

    job: Job
    failure: str | None = None
    log_tail: str = ""
    traceback: str | None = None
    observations: list[Observation] = field(default_factory=list)
    server_notes: list[str] = field(default_factory=list)
    baseline: ServerState | None = None
    edges: tuple[ServerState | None, ServerState | None] | None = None
    final: ServerState | None = None
    read_failures: list[str] = field(default_factory=list)  # server state reads that failed
    cpu_times: list[CpuTimes | None] = field(default_factory=list)  # at the window's edges
    client: ClientStats | None = None
    server_sampler: Sampler | None = None
    shutdown_observed: bool | None = None
    unsupported: str | None = None  # seen not to speak the step's protocol: no load was sent

    def fail(self, reason: str, log_tail: str = "") -> None:
        if self.failure is None:  # the first failure is the cause; later ones follow from it
            self.failure, self.log_tail = reason, log_tail


def judge(facts: Facts, policy: Policy) -> Repeat:
    job = facts.job
    users = getattr(job.step, "users", None)
    rate = getattr(job.step, "rate", None)
    r = Repeat(
        server=job.spec.name,
        app=job.workload.name,
        step=job.step.id,
        repeat=job.repeat,
        load=job.step.kind,
        http=job.step.http.version,
        streams=job.step.http.streams if job.step.http.h2 else None,
        framework=job.workload.framework,
        users=users,
        offered_rps=rate,
        order=job.order,
        workers=policy.workers,
        tls=policy.tls,
        log_tail=facts.log_tail,
    )
    notes = list(facts.server_notes)
    _capabilities(r, facts)
    if facts.client is not None:
        _client(r, facts.client)
        _server_side(r, facts)
        _cost(r, facts, policy, notes)
        _count_check(r, facts, policy)
        if r.load == "open":
            _open(r, facts.client, notes)
        _bound(r, facts.client, notes)
        if facts.client.tool is None:  # a native tool keeps no per-second series
            r.unsteady = _steadiness(r, facts.client)
            if r.unsteady:
                notes.append(f"unsteady window: {r.unsteady}")
            r.silent_s = _silence(facts.client)
            if r.silent_s:
                notes.append(f"the server answered nothing for {r.silent_s:.0f} s of the window")
        _interference(r, facts, policy, notes)
    if facts.read_failures:
        failures = "; ".join(dict.fromkeys(facts.read_failures))
        notes.append(
            f"{len(facts.read_failures)} read(s) of the server's counters failed: {failures}"
        )
    r.status, r.reason = _decide(r, facts, policy)
    if r.status == "ok":
        r.notes = _notes(r, job, notes)
    else:
        r.notes = notes
    return r


def _client(r: Repeat, client: ClientStats) -> None:
    r.window = [client.window.start, client.window.end]
    r.window_s = client.window.seconds
    r.requests = client.requests
    r.rps = client.rps
    r.non_2xx = client.failures.get("non_2xx", 0)
    r.wrong_body = client.failures.get("wrong_body", 0)
    r.exceptions = client.failures.get("exceptions", 0)
    r.unfinished = client.failures.get("unfinished", 0)
    r.errors = client.errors
    latency = client.latency_ms
    r.p50_ms, r.p90_ms, r.p99_ms = latency["p50_ms"], latency["p90_ms"], latency["p99_ms"]
    r.p999_ms, r.max_ms = latency["p999_ms"], latency["max_ms"]
    for name, values in client.entries_ms.items():
        if name.startswith("TTFB "):
            r.ttfb_p50_ms, r.ttfb_p99_ms = values["p50_ms"], values["p99_ms"]
        elif name.startswith("FIRST "):
            r.first_p50_ms, r.first_p99_ms = values["p50_ms"], values["p99_ms"]
    r.driver_busy = client.driver_busy
    r.client_requests_total = client.counted_total
    r.tool = client.tool


def _open(r: Repeat, client: ClientStats, notes: list[str]) -> None:
    """The open model's own figures: the rate its connections sent, and whether the
    scheduler kept the schedule."""
    seconds = client.window.seconds
    r.achieved_rps = client.sent_window / seconds if seconds else None
    r.scheduled, r.late, r.dropped = client.scheduled_window, client.late, client.dropped
    r.p90_uncorrected_ms = client.uncorrected_ms.get("p90_ms")
    r.p99_uncorrected_ms = client.uncorrected_ms.get("p99_ms")
    r.lag_p99_ms = client.lag_ms.get("p99_ms")
    late_share = client.late / max(1, client.scheduled_window)
    if late_share > LATE_AT:
        # Still the server's figure below the driver-limited share, but its tail carries
        # some of the driver's own lag.
        notes.append(
            f"{late_share:.1%} of arrivals dispatched over 1 ms late (lag p99 "
            f"{r.lag_p99_ms or 0:.2f} ms): the corrected tail includes that much driver lag"
        )
    if client.dropped:
        # The server was too slow for the queue of arrivals waiting for a connection.
        notes.append(
            f"{client.dropped} arrivals never sent (too many waiting for a connection, or still "
            "waiting at the stop): "
            "latency covers only the arrivals sent"
        )


def _bound(r: Repeat, client: ClientStats, notes: list[str]) -> None:
    """Who limited the step: the driver by :func:`asgi_bench.verdict.limits.driver_limit`, else the
    server when it was at least ``BOUND_AT`` busy, else neither."""
    side = DriverSide(
        load=r.load,
        driver_busy=r.driver_busy,
        server_busy=r.server_busy,
        offered_rps=r.offered_rps,
        seconds=client.window.seconds,
        scheduled=client.scheduled_window,
        sent=client.sent_window,
        late=client.late,
        unfinished=r.unfinished or 0,
    )
    limit = driver_limit(side)
    if limit is not None:
        r.bound = "driver"
        if r.load == "open":  # a closed loop's note says what its throughput is instead
            notes.insert(0, limit)  # the first thing to know about its figures
    elif r.server_busy is not None and r.server_busy >= BOUND_AT:
        r.bound = "server"
    elif r.driver_busy is None and r.server_busy is None:
        r.bound = None
    else:
        r.bound = "neither"


def _cost(r: Repeat, facts: Facts, policy: Policy, notes: list[str]) -> None:
    """CPU of the server over the window, per request the server itself completed with
    success in that window (the driver's count when the server's is not known)."""
    client = facts.client
    assert client is not None
    window = client.window
    served = r.server_ok_window if r.server_ok_window is not None else r.requests
    if not client.window_counted:  # a native tool's span is its own: its count goes with it
        served = r.requests
    cpu_s = _cpu_in_window(facts, notes)
    if cpu_s is not None:
        if served:
            r.cpu_us_per_request = cpu_s * 1e6 / served
        if window.seconds:
            r.server_busy = cpu_s / window.seconds / max(1, policy.server_capacity)
    sampler = facts.server_sampler
    peak = sampler.peak_memory(window.start, window.end) if sampler is not None else None
    if peak is not None:
        r.peak_rss_mib = peak[0] / 2**20
        r.memory_kind = peak[1]


def _cpu_in_window(facts: Facts, notes: list[str]) -> float | None:
    client, sampler = facts.client, facts.server_sampler
    assert client is not None
    window = client.window
    if sampler is not None:
        if sampler.brackets(window.start, window.end):
            return sampler.cpu_between(window.start, window.end)
        notes.append("server CPU not measured: no samples on both sides of the window")
        return None
    first, last = facts.edges or (None, None)
    if first is not None and last is not None and None not in (first.cpu_s, last.cpu_s):
        # No view of the server's processes (it runs elsewhere): its workers' own account.
        notes.append(f"server CPU from the server's own workers on {last.host or 'its host'}")
        return float(last.cpu_s or 0) - float(first.cpu_s or 0)
    return None


def _server_side(r: Repeat, facts: Facts) -> None:
    """Time inside the app over the window, from the middleware's fine histograms (WebSocket:
    from a message in to the app's next message out)."""
    first, last = facts.edges or (None, None)
    if first is None or last is None:
        return
    r.middleware = last.middleware
    websocket = facts.job.workload.count_unit == "ws_messages"
    start, end = (first.ws_echo, last.ws_echo) if websocket else (first.duration, last.duration)
    for name, q in (("app_p50_ms", 0.5), ("app_p90_ms", 0.9), ("app_p99_ms", 0.99)):
        setattr(r, name, _ms(quantile(q, start, end)))
    if not websocket:
        r.app_ttfb_p50_ms = _ms(quantile(0.5, first.ttfb, last.ttfb))
        r.server_ok_window = last.ok_requests - first.ok_requests
        # --profile: the app's own time, and the time inside the server's send and receive
        r.app_own_p50_ms = _ms(quantile(0.5, first.app_own, last.app_own))
        r.in_server_p50_ms = _ms(quantile(0.5, first.in_server, last.in_server))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _count(state: ServerState, unit: str) -> int:
    return state.ws_messages_in if unit == "ws_messages" else state.requests


def _count_check(r: Repeat, facts: Facts, policy: Policy) -> None:
    client = facts.client
    assert client is not None
    unit = facts.job.workload.count_unit
    if client.counted_total != client.locust_total:
        r.count_check = "mismatch"
        r.count_detail = (
            f"the recorder counted {client.counted_total} requests, Locust {client.locust_total}"
        )
        return
    if not policy.metrics:
        r.count_check, r.count_detail = "not made", "not made: served without metrics"
        return
    if facts.baseline is None or facts.final is None:
        r.count_check = "not made"
        r.count_detail = "not made: the server's counters could not be read"
        return
    server_total = _count(facts.final, unit) - _count(facts.baseline, unit)
    r.server_requests_total = server_total
    # A request that failed with an exception may never have reached the app.
    slack = client.failures_total.get("exceptions", 0)
    # Served and never counted by the driver: a native tool's requests in flight at its
    # stops, and a Locust user's request killed at the stop timeout (unfinished) that the
    # app had already taken in.
    unanswered = client.in_flight_at_stop + client.failures.get("unfinished", 0)
    extra = server_total - client.counted_total
    if not -slack <= extra <= slack + unanswered:
        r.count_check = "mismatch"
        r.count_detail = (
            f"over the run the server counted {server_total}, the driver {client.counted_total}"
            f" (exceptions {slack}, unanswered at the stop {unanswered})"
        )
        return
    if not client.window_counted:
        r.count_check = "ok"
        r.count_detail = (
            f"run: server {server_total}, {client.tool} {client.counted_total} (up to "
            f"{client.in_flight_at_stop} in flight at its stops); window not checked: "
            "the tool reports its whole run"
        )
        return
    first, last = facts.edges or (None, None)
    if first is None or last is None:
        r.count_check = "ok"
        r.count_detail = "whole run matched; window not checked: the edges could not be read"
        return
    server_window = _count(last, unit) - _count(first, unit)
    r.server_requests_window = server_window
    # Requests in flight at either edge are counted by one side and not yet by the other;
    # each edge read takes time (its counters are from some moment inside it), and it lands
    # a little off the window's edge (the server's window is that much longer or shorter).
    rate = client.completed_window / client.window.seconds if client.window.seconds else 0.0
    off = abs(first.t - client.window.start) + abs(last.t - client.window.end)
    tolerance = (
        policy.concurrency + (r.exceptions or 0) + math.ceil(rate * (first.span + last.span + off))
    )
    if abs(server_window - client.completed_window) > tolerance:
        r.count_check = "mismatch"
        r.count_detail = (
            f"in the window the server counted {server_window}, the driver "
            f"{client.completed_window} (tolerance {tolerance})"
        )
        return
    r.count_check = "ok"
    r.count_detail = (
        f"run: {server_total} = {client.counted_total}; window: {server_window} vs "
        f"{client.completed_window}"
    )


def _interference(r: Repeat, facts: Facts, policy: Policy, notes: list[str]) -> None:
    client = facts.client
    if len(facts.cpu_times) != 2 or not policy.pinned_cpus or client is None:
        return
    first, last = facts.cpu_times
    if first is None or last is None:
        return
    share = interference(first, last, policy.pinned_cpus, client.window.seconds)
    r.interference = share
    if share is not None and share > INTERFERENCE_AT:
        bound = "" if all_pinned(policy.pinned_cpus) else "at most "
        notes.append(
            f"interference: {bound}{share:.0%} of the pinned CPUs' time went to other "
            "processes or to the hypervisor (steal) during the window"
        )


def _steadiness(r: Repeat, client: ClientStats) -> str:
    """Does the window look steady? Closed loop: its per-second throughput, a second with no
    answer at all counting as 0; open model: its per-second p50 (the rate is fixed by the
    schedule)."""
    if r.load == "open":
        values = []
        for second in client.series:
            when, p50 = second.get("second"), second.get("p50_ms")
            if when is not None and p50 is not None and when in client.window:
                values.append(p50)
    else:
        values = [float(n) for n in _answers_per_second(client)]
    return stats.steady(values) or ""


def _answers_per_second(client: ClientStats) -> list[int]:
    """Requests answered (with success or not) in each whole second of the window."""
    answered = {
        int(s["second"] or 0): int((s.get("ok") or 0) + (s.get("failed") or 0))
        for s in client.series
        if s.get("second") is not None
    }
    return [answered.get(sec, 0) for sec in range(int(client.window.start), int(client.window.end))]


def _silence(client: ClientStats) -> float | None:
    """The longest run of whole seconds of the window in which nothing was answered, when
    the window's own rate makes that more than chance (``SILENCE_RATE`` answers a second:
    a second without any is then a stopped server, not bad luck); else None."""
    answered = _answers_per_second(client)
    if not answered or sum(answered) / len(answered) < SILENCE_RATE:
        return None
    longest = run = 0
    for count in answered:
        run = run + 1 if count == 0 else 0
        longest = max(longest, run)
    return float(longest) if longest else None


def _capabilities(r: Repeat, facts: Facts) -> None:
    observations = list(facts.observations)
    if "lifespan_startup" in facts.job.workload.probes and facts.shutdown_observed is not None:
        detail = "marker written" if facts.shutdown_observed else "no marker"
        observations.append(Observation("lifespan_shutdown", facts.shutdown_observed, detail))
    baseline = facts.baseline
    if baseline is not None and baseline.lifespan_failed:
        observations = [o for o in observations if o.capability != "lifespan_startup"]
        observations.append(
            Observation("lifespan_startup", False, "the middleware saw the app's startup fail")
        )
    r.capabilities = {o.capability: o.ok for o in observations}
    r.capability_details = {o.capability: o.detail for o in observations}


def _decide(r: Repeat, facts: Facts, policy: Policy) -> tuple[Status, str]:
    if facts.unsupported is not None:
        return "unsupported", facts.unsupported
    if facts.failure is not None:
        return "failed", facts.failure
    client = facts.client
    if client is None:
        return "failed", "no client data"
    if client.missing_workers:
        return "failed", f"driver worker(s) {', '.join(client.missing_workers)} stopped reporting"
    failed = r.errors or 0
    kinds = f"({_kinds(r)}){_most_often(client.messages)}"
    if not r.requests:
        return "failed", "no request succeeded in the measured window" + (
            f" {kinds}" if failed else ""
        )
    share = failed / (failed + r.requests)
    if share > policy.max_error_rate:
        return "failed", f"{share:.1%} of requests failed {kinds}"
    if r.count_check == "mismatch":
        return "failed", f"count mismatch: {r.count_detail}"
    spoken = _protocol_spoken(facts)
    if spoken:
        return "failed", spoken
    if r.silent_s and (r.max_ms or 0.0) < r.silent_s * 1000:
        # No finished request waited through the silence: those in flight never finished,
        # and the figures would describe only the requests that happened to.
        return "failed", (
            f"the server answered nothing for {r.silent_s:.0f} s of the {r.window_s or 0:.0f} s "
            f"window, and its requests in flight then never finished (unfinished "
            f"{r.unfinished or 0})"
        )
    if policy.metrics and facts.baseline is not None and facts.final is None:
        # It answered its counters before the load and not after: it stopped answering.
        failures = "; ".join(dict.fromkeys(facts.read_failures)) or "no answer"
        return "failed", f"the server stopped answering its counters after the load ({failures})"
    needs = facts.job.workload.needs - facts.job.spec.supports
    for need in sorted(needs):
        seen = {c: ok for c, ok in r.capabilities.items() if c.startswith(need)}
        if seen and not all(seen.values()):
            broken = ", ".join(f"{c} {r.capability_details[c]}" for c, ok in seen.items() if not ok)
            return "unsupported", f"{facts.job.spec.name} does not support {need}: {broken}"
    return "ok", ""


def _protocol_spoken(facts: Facts) -> str | None:
    """Why the server did not speak the step's HTTP version to the app, as the middleware
    saw ``scope["http_version"]`` for the requests of this repeat's load; None when every
    one was as asked (or the counters are not there to tell)."""
    baseline, final = facts.baseline, facts.final
    if baseline is None or final is None:
        return None
    counts = (baseline.started, baseline.started_h2, final.started, final.started_h2)
    if None in counts:
        return None  # a server whose middleware predates the count
    started = (final.started or 0) - (baseline.started or 0)
    over_h2 = (final.started_h2 or 0) - (baseline.started_h2 or 0)
    wanted = started if facts.job.step.http.h2 else 0
    if over_h2 == wanted:
        return None
    return (
        f"the app saw {over_h2:,} of {started:,} requests as HTTP/2 in an "
        f"HTTP/{facts.job.step.http.version} step"
    )


def _most_often(messages: dict[str, int]) -> str:
    """What a failed cell's reason adds: the failure message that came most often over the
    whole run (warm-up included, where the kinds before it count the window).

    >>> _most_often({"TimeoutError: timed out": 3, "ConnectionResetError: reset": 170})
    '; most often over the run ConnectionResetError: reset (170 times)'
    >>> _most_often({})
    ''
    """
    if not messages:
        return ""
    said, times = max(messages.items(), key=lambda item: item[1])
    return f"; most often over the run {said} ({times:,} time{'s' if times > 1 else ''})"


def _kinds(r: Repeat) -> str:
    kinds = f"non-2xx {r.non_2xx or 0}, wrong body {r.wrong_body or 0}"
    kinds += f", exceptions {r.exceptions or 0}"
    return kinds + (f", unfinished {r.unfinished}" if r.unfinished else "")


def _notes(r: Repeat, job: Job, notes: list[str]) -> list[str]:
    out = []
    if r.load == "native":
        same = (
            "connections and streams, the same requests but for its user-agent"
            if r.http == "2"
            else "connections and request bytes"
        )
        out.append(
            f"driven by {r.tool} with the same {same}, for calibration: "
            "not in the charts or the SLO verdict"
        )
    if r.bound == "driver" and r.load != "open" and r.driver_busy is not None:
        out.append(f"driver {r.driver_busy:.0%} busy: throughput is a lower bound")
    elif r.bound == "neither" and r.load != "open":
        out.append("latency-limited: neither side saturated (users x latency set the rate)")
    if r.count_check == "not made":
        out.append(f"count check {r.count_detail}")
    if r.capabilities.get("lifespan_startup") is False:
        out.append(f"lifespan startup: {r.capability_details['lifespan_startup']}")
    if job.workload.note:
        out.append(job.workload.note)
    return [*out, *notes]
