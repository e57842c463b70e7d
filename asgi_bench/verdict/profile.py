"""Where a server's CPU goes, from py-spy's collapsed stacks (``record --gil -f raw``).

One line per distinct stack, root first, frames ``function (location)`` joined by ``;``, then
a space and a sample count. Choices, and why:

* A stack's samples go to one **component**, decided from the leaf toward the root: the
  first frame a :class:`Rule` finds (server rules, then the app's, then :data:`COMMON_RULES`,
  in that order) decides; an unclaimed standard-library frame is ``stdlib``. Self time is
  the question ("who burns the CPU"), so a callee that a rule names wins over its caller.
* The interpreter's own frames (``libpython``) and unclaimed native or third-party frames
  are walked past: ``unicode_decode_utf8`` is the work of the Python function that asked
  for it. A libc syscall wrapper is claimed by the ``kernel`` rule where it is met, so a
  ``write (libc.so.6)`` leaf is the kernel's, whoever called it.
* A stack the walk leaves unclaimed is ``native`` when its leaf is native code, else
  ``unattributed``. An empty stack (py-spy saw a thread holding the GIL with no Python
  frame: a Rust or C thread calling into the C API, granian's workers) is ``native``.
* With ``--gil`` a sample is 1/rate s in which the process held the GIL, so a component's
  µs per request is ``samples / rate_hz / requests · 1e6``: Python-side CPU per request.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

RANKABLE = 1.03  # a profiled row is ranked only where py-spy added at most 3% CPU per request

COMPONENTS = (
    ("protocol", "HTTP protocol"),
    ("loop", "event loop"),
    ("glue", "server's ASGI glue"),
    ("app", "the app"),
    ("middleware", "the middleware"),
    ("stdlib", "standard library"),
    ("kernel", "kernel (syscalls)"),
    ("native", "other native code"),
    ("unattributed", "unattributed"),
)
_IDS = tuple(name for name, _ in COMPONENTS)
NO_FRAME = "(no Python frame)"  # the function of an empty stack, in Profile.top

_FRAME = re.compile(r"(?P<function>.*) \((?P<location>[^()]*)\)")
_PYTHON = re.compile(r"\.py(?::\d+)?$|^<[^<>]*>(?::\d+)?$")  # pkg/mod.py:9, <frozen runpy>:88
_INTERPRETER = re.compile(r"^lib(?:python|pypy)|^python[\d.]*$")  # shared or static build
_LINE = re.compile(r":\d+\)$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]+ ")  # an unnamed native function: one per address
# Leading frames that are no code: the process (its command line may hold "; ") and thread.
_NOT_CODE = re.compile(r'(?:process \d+:"[^"]*"|thread \(0x[0-9a-fA-F]+\)(?:: [^;]*)?)(?:;|$)')


@dataclass(frozen=True)
class Rule:
    """Frames in which ``pattern`` is found (``re.search`` over ``function (location)``)
    belong to ``component``."""

    pattern: str
    component: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.component not in _IDS:
            raise ValueError(f"unknown component {self.component!r}: one of {', '.join(_IDS)}")
        object.__setattr__(self, "regex", re.compile(self.pattern))


_SYSCALLS = (
    "write|read|send|recv|sendto|recvfrom|sendmsg|recvmsg|writev|readv|pwrite64|pread64|"
    "epoll_wait|epoll_pwait|epoll_ctl|select|poll|ppoll|accept|accept4|connect|shutdown|"
    "close|getpid|futex|syscall|sendfile|sendfile64|getrandom"
)
COMMON_RULES: tuple[Rule, ...] = (
    # The wrapper is the frame itself, not a function that merely lives in libc (memcpy).
    Rule(rf"^(?:__GI_)?(?:__libc_|__)?(?:{_SYSCALLS}) \((?:libc|libpthread)[.-]", "kernel"),
    # From a checkout (an editable install) py-spy says apps/...; from an installed package
    # (the Docker image), asgi_bench/apps/...
    Rule(r"\((?:asgi_bench/)?collectors/", "middleware"),
    Rule(r"\((?:(?:asgi_bench/)?apps|starlette|fastapi)/", "app"),
    Rule(r"\((?:asyncio/|selectors\.py)|\(loop\.c:|uvloop|^uv_|_asynciomodule\.c|gevent", "loop"),
    Rule(r"httptools|^llhttp|\((?:h11|h2|hpack|wsproto|websockets)/", "protocol"),
)


def _location(frame: str) -> str | None:
    found = _FRAME.fullmatch(frame)
    return found["location"] if found else None


def _python(location: str | None) -> bool:
    return location is not None and _PYTHON.search(location) is not None


def stdlib(frame: str) -> bool:
    """Whether ``frame`` is Python code of the standard library, by its top module.

    >>> stdlib("Runner.run (asyncio/runners.py:118)"), stdlib("_run_code (<frozen runpy>:88)")
    (True, True)
    >>> stdlib("inner (typing.py:362)"), stdlib("Config.load (hypercorn/config.py:9)")
    (True, False)
    >>> stdlib("write (libc.so.6)"), stdlib("__init__ (<string>:3)")
    (False, False)
    """
    location = _location(frame)
    if location is None or not _python(location):
        return False
    if location.startswith("<"):  # only <frozen X> names a module: <string> is generated
        frozen = re.match(r"<frozen ([\w.]+)>", location)
        name = frozen[1] if frozen else ""
    else:
        name = location.split("/", 1)[0].split(":", 1)[0].removesuffix(".py")
    return name.split(".", 1)[0] in sys.stdlib_module_names


def classify(stack: tuple[str, ...], rules: Sequence[Rule]) -> str:
    """The component a stack's samples go to (module docstring: the walk from the leaf).

    >>> rules = (Rule(r"\\(uvicorn/", "glue"), *COMMON_RULES)
    >>> classify(("run (uvicorn/main.py:9)", "write (libc.so.6)"), rules)
    'kernel'
    >>> classify(("app (apps/hello.py:33)", "unicode_decode_utf8 (libpython3.11.so.1.0)"), rules)
    'app'
    >>> classify(("main (click/core.py:1)",), rules), classify(("0x7f01 (libfoo.so)",), rules)
    ('unattributed', 'native')
    """
    return attribute(stack, rules)[0]


def attribute(stack: tuple[str, ...], rules: Sequence[Rule]) -> tuple[str, str]:
    """(component, the frame that decided it): the function a sample's self time is shown
    under, so the C a Python function runs (``perf_counter`` in a busy loop, the
    interpreter's own frames) is that function's, as a Python programmer reads it, while a
    syscall or uvloop's C keeps its own name. Nothing decided: the leaf.

    >>> attribute(("burn (burnapp.py:7)", "time_perf_counter (libpython3.11.so.1.0)"), ())
    ('unattributed', 'burn (burnapp.py:7)')
    """
    for frame in reversed(stack):
        location = _location(frame)
        if location is not None and _INTERPRETER.search(location):
            continue  # the interpreter running the Python frame above it
        for rule in rules:
            if rule.regex.search(frame):
                return rule.component, frame
        if stdlib(frame):
            return "stdlib", frame
    leaf = stack[-1] if stack else NO_FRAME
    location = _location(leaf)
    if location is not None and not _python(location) and not _INTERPRETER.search(location):
        return "native", leaf  # a library of its own (libssl, an unnamed Rust frame)
    # Python no rule knows (the interpreter's frames under it are its): the innermost.
    python = next((f for f in reversed(stack) if _python(_location(f))), None)
    return ("unattributed", python) if python is not None else ("native", leaf)


def parse_collapsed(text: str) -> dict[tuple[str, ...], int]:
    """py-spy's raw output as {stack (root first): samples}: process and thread frames
    dropped, equal stacks summed, blank or malformed lines skipped.

    >>> parse_collapsed('process 7:"python -m x; y";a (m.py:1);b (m.py:2) 3\\na (m.py:1) 1\\n')
    {('a (m.py:1)', 'b (m.py:2)'): 3, ('a (m.py:1)',): 1}
    """
    stacks: dict[tuple[str, ...], int] = {}
    for line in text.splitlines():
        body, _, count = line.strip().rpartition(" ")
        if not body or not (count.isascii() and count.isdigit()) or int(count) == 0:
            continue
        start = 0
        while found := _NOT_CODE.match(body, start):
            start = found.end()
        rest = body[start:]
        stack = tuple(rest.split(";")) if rest else ()
        stacks[stack] = stacks.get(stack, 0) + int(count)
    return stacks


def function_of(frame: str) -> str:
    """A frame as a function: line number stripped, unnamed native addresses merged.

    >>> function_of("RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:522)")
    'RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py)'
    >>> function_of("0x7f09d539c4cf (granian/_granian.so)")
    '??? (granian/_granian.so)'
    """
    return _ADDRESS.sub("??? ", _LINE.sub(")", frame))


@dataclass(frozen=True)
class ComponentShare:
    samples: int
    share: float  # of all the profile's samples
    us_per_request: float | None  # None without a request count


@dataclass(frozen=True)
class TopFunction:
    function: str  # the leaf frame, by function_of()
    component: str  # where most of its samples went
    samples: int
    share: float


@dataclass(frozen=True)
class Profile:
    samples: int
    rate_hz: float
    seconds: float
    requests: float | None
    components: Mapping[str, ComponentShare]  # every component id, in COMPONENTS order
    top: tuple[TopFunction, ...]  # by self time, most first

    @property
    def gil_busy(self) -> float | None:
        """The share of the window in which a thread held the GIL; None without a window."""
        return self.samples / self.rate_hz / self.seconds if self.seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "rate_hz": self.rate_hz,
            "seconds": self.seconds,
            "requests": self.requests,
            "components": {name: asdict(c) for name, c in self.components.items()},
            "top": [asdict(t) for t in self.top],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """The inverse of :meth:`to_dict`; keys it does not write (``target``) are ignored."""
        requests = data.get("requests")
        components = {
            name: ComponentShare(int(c["samples"]), float(c["share"]), _float(c["us_per_request"]))
            for name, c in (data.get("components") or {}).items()
        }
        top = tuple(
            TopFunction(t["function"], t["component"], int(t["samples"]), float(t["share"]))
            for t in data.get("top") or ()
        )
        return cls(
            int(data.get("samples", 0)),
            float(data.get("rate_hz", 0.0)),
            float(data.get("seconds", 0.0)),
            _float(requests),
            components,
            top,
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _profile(
    per_component: Mapping[str, int],
    per_function: Mapping[str, Counter[str]],  # samples by leaf function, then component
    rate_hz: float,
    seconds: float,
    requests: float | None,
    top: int,
) -> Profile:
    total = sum(per_component.values())
    components = {}
    for name in _IDS:
        n = per_component.get(name, 0)
        us = n / rate_hz / requests * 1e6 if requests and rate_hz else None
        components[name] = ComponentShare(n, n / total if total else 0.0, us)
    ranked = sorted(per_function.items(), key=lambda item: (-item[1].total(), item[0]))
    best = tuple(
        TopFunction(f, c.most_common(1)[0][0], c.total(), c.total() / total if total else 0.0)
        for f, c in ranked[:top]
    )
    return Profile(total, rate_hz, seconds, requests, components, best)


def breakdown(
    stacks: Mapping[tuple[str, ...], int],
    rules: Sequence[Rule],
    rate_hz: float,
    seconds: float,
    requests: float | None,
    top: int = 10,
) -> Profile:
    """Samples, share and µs per request by component, and the ``top`` functions by self
    time, of one window's ``stacks`` sampled at ``rate_hz`` for ``seconds``."""
    per_component: Counter[str] = Counter()
    per_function: dict[str, Counter[str]] = {}
    for stack, count in stacks.items():
        component, frame = attribute(stack, rules)
        per_component[component] += count
        function = function_of(frame) if stack else NO_FRAME
        per_function.setdefault(function, Counter())[component] += count
    return _profile(per_component, per_function, rate_hz, seconds, requests, top)


def merge(profiles: Sequence[Profile], top: int = 10) -> Profile:
    """Several windows at one sampling rate (a row's repeats) as one: samples, seconds and
    requests summed (None if any is None), shares and µs per request recomputed. A window
    kept only its top functions: a function's merged count misses the windows it was not on
    top in."""
    if not profiles or len({p.rate_hz for p in profiles}) != 1:
        raise ValueError("merge() needs profiles, all at one sampling rate")
    per_component: Counter[str] = Counter()
    per_function: dict[str, Counter[str]] = {}
    for p in profiles:
        per_component.update({name: part.samples for name, part in p.components.items()})
        for t in p.top:
            per_function.setdefault(t.function, Counter())[t.component] += t.samples
    requests = [p.requests for p in profiles]
    summed = None if None in requests else sum(r or 0.0 for r in requests)
    seconds = sum(p.seconds for p in profiles)
    return _profile(per_component, per_function, profiles[0].rate_hz, seconds, summed, top)


def rules_for_app(app: str) -> tuple[Rule, ...]:
    r"""The user's app ``pkg.module:attr`` is ``app``: its top package's folder, or the file
    of a lone module, as py-spy shortens paths (from the top package's parent). The built-in
    apps and the middleware are :data:`COMMON_RULES`' already.

    >>> for rule in rules_for_app("tests.burnapp:app") + rules_for_app("burnapp:app"):
    ...     print(rule.pattern, rule.component)
    \(tests/ app
    \(burnapp\.py[:)] app
    >>> rules_for_app("asgi_bench.apps.hello:app")
    ()
    """
    module = app.split(":", 1)[0].strip()
    top, _, below = module.partition(".")
    if not top or top == "asgi_bench":
        return ()
    pattern = rf"\({re.escape(top)}/" if below else rf"\({re.escape(top)}\.py[:)]"
    return (Rule(pattern, "app"),)


def difference(a: Profile, b: Profile) -> list[tuple[str, float | None, float | None]]:
    """(component, µs per request in ``a``, in ``b``), in COMPONENTS order."""

    def us(p: Profile, name: str) -> float | None:
        part = p.components.get(name)
        return part.us_per_request if part else None

    return [(name, us(a, name), us(b, name)) for name in _IDS]
