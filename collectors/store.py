"""Where the middleware keeps per-request numbers: flat integer slots, one block per series.

A series is one label set ``(route, method, status)``. Its block holds::

    0 count   1 units_in   2 units_out   3.. hist_a   .. hist_b

For HTTP, ``a`` is the duration (app called -> app returned, its last chunk sent), ``b``
the time to the first byte (-> ``http.response.start``), and the units are body bytes; no
sums are kept (they are read back from the histograms at scrape time, saving two additions
per request). For a WebSocket
series (method ``WS``), ``count`` is messages received, ``a`` the time from a message in to
the app's next message out, ``units_in`` bytes received and ``units_out`` messages sent.

Every store also has a ``header``: its first counter is the HTTP requests started (those
finished are the sum of the HTTP series' counts, so in progress is the difference), its
second those of them that the server handed over as HTTP/2 (``scope["http_version"]``), so
that the harness sees which protocol the server spoke, not only which one the client asked.

The histograms are log-linear in nanoseconds with 64 sub-buckets per power of two, so any
value is known to within 1/64 (1.6%) of itself, from 1 ns to a minute: the harness's
percentiles come from them, not from Prometheus's few fixed buckets (which are derived from
them at scrape time, for Grafana). Recording a value is two integer operations and one list
increment; nothing is locked, because only the event loop's thread writes.

Two backings with one interface: :class:`LocalStore` (one process, Python lists) and
:class:`SharedStore` (several workers: one mmap file per worker in the multiprocess folder,
read by whichever worker answers a scrape). A dead worker's counts stay (its requests did
happen); its requests in progress are dropped.
"""

from __future__ import annotations

import json
import mmap
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

Key = tuple[str, str, int]  # route, method, status

SUB_BITS = 6  # 64 sub-buckets per power of two: 1/64 relative width
SUB = 1 << SUB_BITS
MAX_NS = 60_000_000_000  # values above a minute go into the top bucket


def bucket(ns: int) -> int:
    """The histogram bucket of ``ns`` nanoseconds (exact below 128 ns; a minute at most)."""
    if ns < 2 * SUB:
        return max(ns, 0)
    ns = min(ns, MAX_NS)
    shift = ns.bit_length() - SUB_BITS - 1
    return (shift << SUB_BITS) + (ns >> shift)


def bucket_range(index: int) -> tuple[int, int]:
    """The values ``[low, high)`` in nanoseconds that fall into bucket ``index``."""
    if index < 2 * SUB:
        return index, index + 1
    shift = (index >> SUB_BITS) - 1
    mantissa = (index & (SUB - 1)) + SUB
    return mantissa << shift, (mantissa + 1) << shift


def quantile_bucket(q: float, counts: Mapping[int, int]) -> int | None:
    """The bucket that holds the ``q`` quantile of ``counts`` (bucket -> how many; a count
    at or under zero is skipped, as a difference of two readings may hold), or None when
    they hold nothing. Its middle is within 0.8% of every value it holds.

    >>> quantile_bucket(0.5, {3: 1, 5: 2, 9: 1}), quantile_bucket(1.0, {3: 1, 9: 1, 12: 0})
    (5, 9)
    """
    total = sum(n for n in counts.values() if n > 0)
    if total <= 0:
        return None
    rank, seen = q * total, 0
    for index in sorted(counts):
        seen += max(0, counts[index])
        if seen >= rank:
            return index
    return None


HEADER = 2  # requests started, and of them over HTTP/2
BUCKETS = bucket(MAX_NS) + 1
COUNT, UNITS_IN, UNITS_OUT = range(3)
# Series that are not HTTP requests: a WebSocket route's messages, and the split of the
# requests' in-app time that collectors/calls.py records under --profile.
NOT_HTTP = frozenset({"WS", "ASGI"})
HIST_A = 3
HIST_B = HIST_A + BUCKETS
SLOTS = HIST_B + BUCKETS  # per series


@dataclass
class SeriesState:
    """One series as read back: totals and sparse histograms ``{bucket: count}``."""

    key: Key
    count: int = 0
    units_in: int = 0
    units_out: int = 0
    hist_a: dict[int, int] = field(default_factory=dict)
    hist_b: dict[int, int] = field(default_factory=dict)

    def add(self, block: list[int] | memoryview) -> None:
        values = block.tolist() if isinstance(block, memoryview) else block
        self.count += values[COUNT]
        self.units_in += values[UNITS_IN]
        self.units_out += values[UNITS_OUT]
        for hist, offset in ((self.hist_a, HIST_A), (self.hist_b, HIST_B)):
            for i, n in enumerate(values[offset : offset + BUCKETS]):
                if n:
                    hist[i] = hist.get(i, 0) + n

    def to_json(self) -> dict[str, object]:
        route, method, status = self.key
        return {
            "route": route,
            "method": method,
            "status": status,
            "count": self.count,
            "units_in": self.units_in,
            "units_out": self.units_out,
            "hist_a": {str(k): v for k, v in sorted(self.hist_a.items())},
            "hist_b": {str(k): v for k, v in sorted(self.hist_b.items())},
        }


class LocalStore:
    """One process: a Python list per series."""

    def __init__(self) -> None:
        self.blocks: dict[Key, list[int]] = {}
        self.header = [0] * HEADER  # requests started, and of them over HTTP/2

    def block(self, key: Key) -> list[int]:
        found = self.blocks.get(key)
        if found is None:
            found = self.blocks[key] = [0] * SLOTS
        return found

    def in_progress(self) -> int:
        return self.header[0] - _finished(list(self.blocks.items()))

    def started(self) -> tuple[int, int]:
        """HTTP requests started, and of them over HTTP/2."""
        return self.header[0], self.header[1]

    def series(self) -> Iterator[SeriesState]:
        for key, block in list(self.blocks.items()):
            state = SeriesState(key)
            state.add(block)
            yield state

    def worker_pids(self) -> list[int]:
        return [os.getpid()]


_DATA = re.compile(r"asgi-bench-(\d+)\.slots\Z")
CAPACITY = 256  # series per worker file; later ones share an overflow series
OVERFLOW_KEY: Key = ("<overflow>", "OTHER", 0)
OVERFLOW_ASGI: Key = ("<overflow>", "ASGI", 0)
OVERFLOWS = frozenset({OVERFLOW_KEY, OVERFLOW_ASGI})


class SharedStore:
    """Several workers: each writes its own mmap file, any worker reads them all.

    ``asgi-bench-<pid>.slots`` holds the header and up to :data:`CAPACITY` blocks of int64;
    ``asgi-bench-<pid>.index`` lists which series each block holds, one JSON line per series,
    appended when the series first appears (so a reader may see a block before its line: it
    skips it until the line is there).
    """

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.pid = os.getpid()
        size = (HEADER + CAPACITY * SLOTS) * 8
        path = self.folder / f"asgi-bench-{self.pid}.slots"
        with open(path, "wb") as fh:
            fh.truncate(size)  # sparse: untouched pages cost nothing
        with open(path, "r+b") as fh:
            self._map = mmap.mmap(fh.fileno(), size)
        self.slots = memoryview(self._map).cast("q")
        self.header = self.slots[:HEADER]
        index = self.folder / f"asgi-bench-{self.pid}.index"
        self._index = open(index, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the worker
        self.blocks: dict[Key, memoryview] = {}

    def block(self, key: Key) -> memoryview:
        found = self.blocks.get(key)
        if found is None:
            if len(self.blocks) >= CAPACITY - 2 and key not in OVERFLOWS:
                # Full: one overflow series for requests, one for --profile's split (never a
                # request: counted as one, it would make a request of every timed one).
                return self.block(OVERFLOW_ASGI if key[1] == "ASGI" else OVERFLOW_KEY)
            start = HEADER + len(self.blocks) * SLOTS
            found = self.blocks[key] = self.slots[start : start + SLOTS]
            self._index.write(json.dumps({"key": list(key), "start": start}) + "\n")
            self._index.flush()
        return found

    def in_progress(self) -> int:
        return sum(w.started - _finished(w.blocks) for w in self._workers(live=True))

    def started(self) -> tuple[int, int]:
        """HTTP requests started, and of them over HTTP/2, by every worker (dead ones too:
        their requests did happen)."""
        workers = list(self._workers(live=False))
        return sum(w.started for w in workers), sum(w.started_h2 for w in workers)

    def series(self) -> Iterator[SeriesState]:
        merged: dict[Key, SeriesState] = {}
        for worker in self._workers(live=False):
            for key, block in worker.blocks:
                merged.setdefault(key, SeriesState(key)).add(block)
        yield from merged.values()

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers(live=True)]

    def _workers(self, live: bool) -> Iterator[_Worker]:
        """Per worker file: its pid, its header's counts and its series' blocks."""
        for name in sorted(os.listdir(self.folder)):
            match = _DATA.match(name)
            if not match:
                continue
            pid = int(match.group(1))
            alive = pid == self.pid or psutil.pid_exists(pid)
            if live and not alive:
                continue  # a dead worker's requests in progress are not in progress
            slots = self.slots if pid == self.pid else _read_slots(self.folder / name)
            if slots is None:
                continue
            blocks = []
            for key, start in _index(self.folder / f"asgi-bench-{pid}.index"):
                blocks.append((key, slots[start : start + SLOTS]))
            yield _Worker(pid, int(slots[0]), int(slots[1]), blocks)


@dataclass(frozen=True)
class _Worker:
    pid: int
    started: int
    started_h2: int
    blocks: list[tuple[Key, memoryview]]


def _finished(blocks: Iterable[tuple[Key, Sequence[int]]]) -> int:
    """HTTP requests finished: the sum of the HTTP series' counts (WS counts messages, ASGI
    the requests whose calls were timed: collectors/calls.py)."""
    return sum(int(block[COUNT]) for (_, method, _), block in blocks if method not in NOT_HTTP)


def _read_slots(path: Path) -> memoryview | None:
    try:
        with open(path, "rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    return memoryview(mapped).cast("q")


def _index(path: Path) -> list[tuple[Key, int]]:
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line still being written
        route, method, status = item["key"]
        entries.append(((route, method, int(status)), int(item["start"])))
    return entries
