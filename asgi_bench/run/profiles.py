"""What a repeat's profile says, made once its processes have stopped: where the window's
CPU went by component (:mod:`asgi_bench.verdict.profile`), kept in ``repeat.json``, and the
files a person reads: the flame graph (SVG) and a speedscope file beside py-spy's own
collapsed stacks."""

from __future__ import annotations

import json

from asgi_bench.report.flamegraph import flamegraph_svg, write_speedscope
from asgi_bench.results.layout import RepeatLayout, write_text
from asgi_bench.results.repeat import Repeat
from asgi_bench.run.plan import Job
from asgi_bench.run.profile_cost import profile_cost
from asgi_bench.run.profiler import RATE_HZ
from asgi_bench.verdict.profile import COMMON_RULES, Rule, breakdown, parse_collapsed, rules_for_app


def rules_for(job: Job, target: str) -> tuple[Rule, ...]:
    """The server's own rules first (the driver has none: the common ones name gevent and
    httptools), then the user's app, then what every server shares."""
    own = job.spec.profile_rules if target == "server" else ()
    return (
        *(Rule(pattern, component) for pattern, component in own),
        *rules_for_app(job.workload.app),
        *COMMON_RULES,
    )


def analyse(job: Job, where: RepeatLayout, repeat: Repeat, target: str) -> None:
    """Fill ``repeat.profile`` and write the flame graph and speedscope file. Whatever goes
    wrong here is a note on the repeat, never a lost or failed measurement. The profile
    spans py-spy's own start to stop (its lead before the window included, at the same
    offered load): its requests are the window's, scaled to that span."""
    if target == "driver" and repeat.load == "native":
        return  # a native tool (wrk, h2load) is no Python process: nothing of ours to sample
    try:
        _analyse(job, where, repeat, target)
    except Exception as exc:  # a bug or a full disk: keep the figures, say what is missing
        repeat.profile = None
        repeat.notes.append(f"--profile: not analysed ({type(exc).__name__}: {exc})")


def _analyse(job: Job, where: RepeatLayout, repeat: Repeat, target: str) -> None:
    if not where.profile_raw.exists():
        if repeat.status == "ok":
            repeat.notes.append(f"--profile: py-spy wrote no profile ({_why(where)})")
        return
    stacks = parse_collapsed(where.profile_raw.read_text(errors="replace"))
    if not stacks:
        repeat.notes.append("--profile: py-spy took no sample in the window")
        return
    span = json.loads(where.profile_span.read_text())
    seconds = float(span["end"]) - float(span["start"])
    window, served = repeat.window_s, _requests(repeat, target)
    requests = served * seconds / window if served is not None and window else None
    if window and repeat.window and float(span["start"]) > repeat.window[0]:
        repeat.notes.append(
            "--profile: py-spy attached inside the window (no warm-up to lead in): its first "
            "sample's pause is in this row's latency"
        )
    rules = rules_for(job, target)
    profile = breakdown(stacks, rules, RATE_HZ, seconds, requests)
    cost = profile_cost(repeat.server) if target == "server" else None
    repeat.profile = profile.to_dict() | {"target": target, "cost": cost}
    title = f"{repeat.server} {repeat.app} {repeat.step} r{repeat.repeat} ({target})"
    write_text(where.flamegraph, flamegraph_svg(stacks, title, rules))
    write_speedscope(stacks, where.speedscope, title)


def _requests(repeat: Repeat, target: str) -> float | None:
    """The requests the window's CPU is divided by: as for the server's CPU per request,
    what the server completed with success (the driver's count when that is not known)."""
    if target == "server" and repeat.server_ok_window is not None:
        return float(repeat.server_ok_window)
    return float(repeat.requests) if repeat.requests else None


def _why(where: RepeatLayout) -> str:
    try:
        lines = [line for line in where.profile_log.read_text().splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "empty log"
