"""h2load (Debian's ``nghttp2-client``), HTTP/2's native tool.

h2load prints counts, not percentiles (its "time for request" line is min, max, mean and
sd of a sample), so its figures come from two places: the summary it prints at the end
(h2load's own counts, its errors) and the per-request log ``--log-file`` writes, one line a
stream closed in its measured phase: start (µs since the epoch), status (-1: the stream
failed), µs from its HEADERS frame to the stream's end. The percentiles are those of the
same HDR histogram (3 significant digits) Locust's recorder keeps, over the successes, as
Locust's rows are; the log also says when the tool's first request left, so its window is
its own, not counted back from its exit.

It does not report its own CPU time either: :class:`~asgi_bench.run.native.NativeRun`
reads it from the kernel's account of the process when it is reaped (``reports_cpu``).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from asgi_bench.errors import DriverError
from asgi_bench.load.native.figures import Invocation, NativeFigures, tool_version
from asgi_bench.loadtests import HIGHEST_US, LOWEST_US, split_host
from asgi_bench.verdict.client import PERCENTILES

# What Python's ssl offers for TLS 1.3 (OpenSSL's default order), which our HTTP/2 client
# (gevent's ssl over it) sends: a server that follows the client's order (rustls, granian)
# then picks the same cipher for both. h2load's own default puts AES-128-GCM first.
TLS13_CIPHERS = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
# Our client's flow-control windows are 2**24 (loadtests/rawh2.py: WINDOW), stream and
# connection; h2load sets (2**N)-1, one byte less.
WINDOW_BITS = 24

_FINISHED = re.compile(r"^finished in ([\d.]+)(s|ms|us),", re.MULTILINE)
_REQUESTS = re.compile(
    r"^requests: (?P<total>\d+) total, (?P<started>\d+) started, (?P<done>\d+) done, "
    r"(?P<succeeded>\d+) succeeded, (?P<failed>\d+) failed, (?P<errored>\d+) errored, "
    r"(?P<timeout>\d+) timeout$",
    re.MULTILINE,
)
_STATUS = re.compile(
    r"^status codes: (?P<s2>\d+) 2xx, (?P<s3>\d+) 3xx, (?P<s4>\d+) 4xx, (?P<s5>\d+) 5xx$",
    re.MULTILINE,
)
_UNIT_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


@dataclass(frozen=True)
class Summary:
    """What h2load prints at its end, of its measured phase."""

    seconds: float  # "finished in": its whole run, connects and stop included
    succeeded: int  # streams answered 2xx or 3xx (or whose status it read while warming up)
    failed: int  # the rest: answered 4xx, 5xx or otherwise, and the errored
    errored: int  # streams that ended without an answer (reset, connection lost)
    status_2xx: int
    status_3xx: int

    @property
    def answered(self) -> int:
        """Streams that ended with an answer, any status: h2load's ``req_success``."""
        return self.succeeded + self.failed - self.errored


def read_summary(output: str) -> Summary | None:
    """h2load's closing summary in its output; None when it printed none (it did not finish).

    >>> out = '''starting benchmark...
    ... finished in 2.01s, 492.04 req/s, 120.50KB/s
    ... requests: 990 total, 998 started, 990 done, 985 succeeded, 5 failed, 1 errored, 0 timeout
    ... status codes: 983 2xx, 2 3xx, 1 4xx, 3 5xx
    ... traffic: 241.00KB (246784) total'''
    >>> s = read_summary(out)

    985 + 5 - 1 answered: 4 of the 5 failed were answered (a 4xx, three 5xx), one errored.

    >>> s.seconds, s.answered, s.errored
    (2.01, 989, 1)
    >>> read_summary("starting benchmark...\\nNo protocol negotiated.") is None
    True
    """
    finished, requests, status = (p.search(output) for p in (_FINISHED, _REQUESTS, _STATUS))
    if finished is None or requests is None or status is None:
        return None
    return Summary(
        seconds=float(finished.group(1)) * _UNIT_S[finished.group(2)],
        succeeded=int(requests["succeeded"]),
        failed=int(requests["failed"]),
        errored=int(requests["errored"]),
        status_2xx=int(status["s2"]),
        status_3xx=int(status["s3"]),
    )


@dataclass(frozen=True)
class RequestLog:
    """What ``--log-file`` says of a run: its span and its answers' latencies."""

    first_us: int | None  # the earliest request's start, µs since the epoch
    last_us: int | None  # the latest end of a stream (its start plus its time)
    answered: int  # streams that ended with an answer, any status
    non_2xx: int  # ... with a status outside 200-299
    failed: int  # streams that ended without one (status -1)
    latency_us: dict[str, int]  # p50_us ... p999_us, max_us of the 2xx answers; {} if none
    histogram: str  # theirs, HDR, base64


def read_log(lines: Iterable[str]) -> RequestLog:
    """The figures of h2load's per-request log (tab-separated: start µs, status, µs).

    Lines come in the order streams closed, a little out of order across threads; columns
    after the third (h2load may add some) are ignored. Only a status of 200-299 is a 2xx
    (h2load logs 0 for a stream whose headers came in its ``--warm-up-time``, which is not
    used: such a line is counted as answered, not as a success). Values are counted first
    and put in the histogram once each: a 30 s log holds a million lines, and the pure-Python
    histogram costs microseconds a call.

    >>> log = read_log([
    ...     "1700000000000000\\t200\\t120",
    ...     "1700000000000100\\t200\\t250",
    ...     "1700000000000300\\t503\\t90",
    ...     "1700000000000400\\t-1\\t5000",
    ...     "1700000000000200\\t200\\t800",
    ... ])
    >>> log.answered, log.non_2xx, log.failed
    (4, 1, 1)

    The percentiles are of the three 200s alone, 120, 250 and 800 µs: the 503 and the failed
    stream are not among them. p50 is the 2nd of 3 (0.5 x 3 = 1.5, the 2nd), p90 and above
    the 3rd; all three are under 2,048 µs, where the histogram is exact.

    >>> log.latency_us
    {'p50_us': 250, 'p90_us': 800, 'p99_us': 800, 'p999_us': 800, 'max_us': 800}

    Its span: from the first start (…000000) to the failed stream's end (…000400 + 5000).

    >>> log.first_us, log.last_us - log.first_us
    (1700000000000000, 5400)
    """
    hist = HdrHistogram(LOWEST_US, HIGHEST_US, 3)  # as Locust's recorder keeps them
    took_ok: Counter[int] = Counter()
    first = last = None
    answered = non_2xx = failed = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            start, status, took = (int(field) for field in line.split("\t")[:3])
        except ValueError as exc:
            why = f"h2load's log, line {number}: not start, status, µs: {line!r}"
            raise DriverError(why) from exc
        first = start if first is None else min(first, start)
        last = start + took if last is None else max(last, start + took)
        if status == -1:
            failed += 1
            continue
        answered += 1
        if 200 <= status < 300:
            took_ok[min(max(took, LOWEST_US), HIGHEST_US)] += 1
        else:
            non_2xx += 1
    for took, count in took_ok.items():
        hist.record_value(took, count)
    latency: dict[str, int] = {}
    if hist.get_total_count():
        for key, percentile in PERCENTILES.items():
            latency[key.replace("_ms", "_us")] = int(hist.get_value_at_percentile(percentile))
        latency["max_us"] = int(hist.get_max_value())
    encoded = hist.encode().decode("ascii")
    return RequestLog(first, last, answered, non_2xx, failed, latency, encoded)


class H2load:
    """h2load (HTTP/2): h2c by prior knowledge or h2 by ALPN over TLS, as the URL's scheme
    says, ``streams`` requests in flight on each connection (``-m``), each sent again as
    soon as it is answered: the closed loop Locust's users drive through
    ``loadtests/rawh2.py``.

    Its requests carry the headers ours do (``:method GET``, ``:scheme``, ``:authority
    HOST:PORT``, ``:path``; ``:authority`` is given explicitly, as h2load drops the port
    when it is the scheme's default) and one more: ``user-agent: h2load nghttp2/1.52.0``,
    which h2load always sends (``-H`` can change its value, not drop it), kept so a server's
    log names the tool. HPACK makes it one byte a request after a connection's first, but
    the server still decodes it and hands the app one header more. The order of the pseudo
    headers differs (h2load: ``:path`` first), which HTTP/2 leaves free. Its SETTINGS
    differ from the ``h2`` library's (push off; windows set to ours, one byte less).
    """

    name = "h2load"
    http = "2"
    package = "Debian's nghttp2-client"
    reports_cpu = False  # NativeRun takes it from the kernel (wait4) when h2load exits

    def path(self) -> str | None:
        return shutil.which(self.name)

    def version(self) -> str | None:
        """``h2load nghttp2/1.52.0`` as ``h2load --version`` says it (its ``-v`` is
        verbose); None when not installed."""
        return tool_version(self.name, "--version") if self.path() is not None else None

    def script(self) -> str | None:
        return None  # it takes no script

    def runs_for(self, seconds: float) -> float:
        return round(seconds * 1000) / 1000  # -D takes milliseconds

    def argv(self, run: Invocation) -> list[str]:
        """Its command line; ``run.script`` is wrk's and ignored. No ``--warm-up-time``:
        the warm-up is a run of its own, as wrk's (:mod:`asgi_bench.run.native` says why).

        >>> run = Invocation("http://127.0.0.1:8001/", 4, 1, 2.5, streams=8, log="r.tsv")
        >>> H2load().argv(run)  # doctest: +NORMALIZE_WHITESPACE
        ['h2load', '-c4', '-m8', '-t1', '-D', '2500ms', '-w24', '-W24', '-H',
         ':authority: 127.0.0.1:8001', '--log-file=r.tsv', '--no-tls-proto=h2c',
         'http://127.0.0.1:8001/']
        """
        scheme, host, port, _ = split_host(run.url)  # as our HTTP/2 client's :authority
        argv = [
            self.name,
            f"-c{run.connections}",
            f"-m{run.streams}",
            f"-t{run.threads}",
            "-D",
            f"{round(self.runs_for(run.seconds) * 1000)}ms",
            f"-w{WINDOW_BITS}",
            f"-W{WINDOW_BITS}",
            "-H",
            f":authority: {host}:{port}",
        ]
        if run.log is not None:
            argv.append(f"--log-file={run.log}")
        if scheme == "https":
            # h2 alone: without it h2load falls back to HTTP/1.1 where ALPN picks that.
            argv += ["--npn-list=h2", f"--tls13-ciphers={TLS13_CIPHERS}"]
        else:
            argv.append("--no-tls-proto=h2c")  # its default, said: prior knowledge
        return [*argv, run.url]

    def parse(self, output: str, log: Path | None = None) -> NativeFigures | None:
        """Its figures: counts and errors from its summary; with ``log``, the answers'
        statuses, latencies and span from that. None when it printed no summary. A log that
        holds another number of answers, or of 2xx, than the summary is an error: figures
        from a part of the run."""
        summary = read_summary(output)
        if summary is None:
            return None
        if log is None:  # the warm-up: its counts are all the count check needs
            non_2xx = summary.answered - summary.succeeded + summary.status_3xx
            return NativeFigures(
                seconds=summary.seconds,
                responses=summary.answered,
                non_2xx=non_2xx,
                socket_errors=summary.errored,
                latency_us={},
                cpu_s=None,  # not reported: NativeRun puts it in
            )
        with open(log, encoding="ascii", errors="replace") as lines:
            found = read_log(lines)
        logged = (found.answered, found.answered - found.non_2xx)
        if logged != (summary.answered, summary.status_2xx):
            raise DriverError(
                f"h2load's log holds {logged[0]} answers ({logged[1]} 2xx), its summary "
                f"{summary.answered} ({summary.status_2xx} 2xx)"
            )
        span = (
            (found.last_us - found.first_us) / 1e6
            if found.first_us is not None and found.last_us is not None
            else 0.0
        )
        return NativeFigures(
            seconds=span,
            responses=found.answered,
            non_2xx=found.non_2xx,
            socket_errors=summary.errored,
            latency_us=found.latency_us,
            cpu_s=None,  # not reported: NativeRun puts it in
            started=found.first_us / 1e6 if found.first_us is not None else None,
            histogram=found.histogram,
        )
