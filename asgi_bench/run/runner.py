"""Run a plan: every repeat in order, each written as soon as it is measured.

A failing repeat is recorded with its reason and the run goes on. The summary is rewritten
after every repeat. On a stop signal (Ctrl+C, SIGTERM, SIGHUP) the current repeat's
processes are stopped, the partial summary and report are written, run.json says
``interrupted`` and by which signal, the throwaway TLS key is removed, and the process exits
with 128 + the signal's number. A write that fails (a full disk, a read-only file system)
ends the run with one line; what was written before stays valid. A run in which no row
succeeded exits with its own code; every code is in :mod:`asgi_bench.exitcodes`.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asgi_bench import exitcodes
from asgi_bench.collectors.compiled import PYTHON
from asgi_bench.config import Settings
from asgi_bench.errors import Interrupted, UsageError, WriteError
from asgi_bench.frameworks import framework_missing
from asgi_bench.load.closed import Closed
from asgi_bench.load.native import Native, follows, get_tool
from asgi_bench.load.open import Open
from asgi_bench.results.junit import junit_xml
from asgi_bench.results.layout import RepeatLayout, RunLayout, write_json, write_text
from asgi_bench.results.manifest import build_manifest
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import Row
from asgi_bench.results.summary import rows_of, write_summary
from asgi_bench.run import build
from asgi_bench.run.database import Database, database_for, unavailable
from asgi_bench.run.driver_figure import driver_figure
from asgi_bench.run.lifecycle import Measurement, Resources, measure
from asgi_bench.run.plan import Job, plan
from asgi_bench.run.profiler import describe
from asgi_bench.run.profiles import analyse
from asgi_bench.run.resources import LocalResources
from asgi_bench.run.search import search_cell
from asgi_bench.servers import LaunchOptions, ServerSpec
from asgi_bench.system.signals import Stops, stop_signals
from asgi_bench.system.tls import make_cert
from asgi_bench.system.watchdog import scratch_dir
from asgi_bench.verdict.client import client_json
from asgi_bench.verdict.judge import Policy, judge
from asgi_bench.workloads import Workload


@dataclass(frozen=True)
class Outcome:
    run_dir: Path
    exit_code: int


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def prepare_run_dir(out: Path) -> RunLayout:
    """A fresh run folder under ``out``; an unusable ``out`` is a :class:`UsageError`."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file, not a folder")
    run_dir = out / new_run_id()
    while run_dir.exists():  # two runs in one second
        run_dir = run_dir.with_name(run_dir.name + "-1")
    try:
        run_dir.mkdir(parents=True)
        probe = run_dir / ".writable"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {str(out)!r} is not writable: {exc.strerror or exc}") from None
    return RunLayout(run_dir)


def policy_for(settings: Settings, job: Job) -> Policy:
    config = settings.config
    cpus = len(settings.server_cpus) if not settings.targets else (len(settings.server_cpus) or 1)
    pinned = (
        () if settings.targets else tuple(sorted({*settings.server_cpus, *settings.driver_cpus}))
    )
    return Policy(
        max_error_rate=config.max_error_rate,
        pinned_cpus=pinned,
        server_capacity=max(1, min(config.workers, cpus)),
        workers=config.workers,
        tls=config.tls,
        metrics=config.instrumented(job.bare),
        concurrency=job.step.concurrency(config.expect_workers or settings.driver_processes),
    )


def run(settings: Settings, console: Console | None = None) -> Outcome:
    """Run everything ``settings`` asks for; its exit code is one of :mod:`asgi_bench.exitcodes`."""
    return Session(settings, console or Console()).run()


class Session:
    """One run, as named steps: :meth:`start` (the folder, the plan, run.json), the planned
    repeats, the capacity search, :meth:`finish` (the last writes, signals deferred) and the
    exit code. Every repeat goes through :meth:`measure_one`, which keeps it and rewrites
    the summary at once."""

    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings, self.console = settings, console
        self.layout = prepare_run_dir(settings.out)
        # With --rates auto the planned steps are the closed-loop ones (--load both, or the
        # quick run's peak); the search's open steps follow them.
        self.jobs = plan(
            settings.specs,
            settings.workloads,
            settings.steps,
            settings.repeat,
            settings.seed,
            settings.config.paired,
        )
        self.manifest = build_manifest(settings, self.layout.run_id, [j.key for j in self.jobs])
        if settings.config.profile:
            self.manifest["profile"] = describe(settings.config.profile, settings.warmup)
        with console.status("compiling the middleware (mypyc, once per version)"):
            self.manifest["middleware"] = middleware = build.prepare(settings.config)
        if middleware["build"] == PYTHON and middleware["reason"] != "--pure-middleware":
            console.print(f"[yellow]the middleware runs as pure Python: {middleware['reason']}[/]")
        self.repeats: list[Repeat] = []
        self.resources: Resources | None = None
        self.database: Database | None = None
        self.exit_code = 0

    def run(self) -> Outcome:
        self.start()
        with (
            stop_signals(self._on_repeated_signal) as stops,
            scratch_dir("asgi-bench-tls-") as tls,
            ExitStack() as held,  # the database, stopped after the last repeat
        ):
            try:
                certs = make_cert(Path(tls)) if self.settings.config.tls else None
                self.resources = LocalResources(self.settings, certs)
                settings = self.settings
                self.database = held.enter_context(
                    database_for(
                        settings.workloads,
                        settings.config.db_dsn,
                        settings.server_cpus,
                        targets=bool(settings.targets),
                    )
                )
                if self.database is not None:
                    self.manifest["database"] = self.database.described
                self.measure_planned()
                if self.settings.search:
                    self.search()
                self.manifest["completed"] = True
            except Interrupted as exc:
                with stops.deferred():  # a signal from here on is noted, not raised
                    self.interrupted(exc)
            except WriteError as exc:
                with stops.deferred():
                    self.exit_code = _failed(self.manifest, str(exc))
            # The last writes finish whatever arrives meanwhile, then say so.
            with stops.deferred():
                self.finish(stops)
        self.console.print(f"results: {self.layout.root}  report: {self.layout.report_html}")
        rows = rows_of(self.repeats, self.manifest)
        self.write_junit(rows)
        self.judge_rows(rows)
        return Outcome(self.layout.root, self.exit_code)

    def start(self) -> None:
        settings = self.settings
        self.manifest["started_at"] = _now()
        write_json(self.layout.run_json, self.manifest, schema=True)
        planned = f"{len(self.jobs)} repeats" if self.jobs else ""
        if settings.search:
            each = f" ({settings.repeat} repeats a step)" if settings.repeat > 1 else ""
            planned = ", ".join(filter(None, [planned, f"then a capacity search per cell{each}"]))
        self.console.print(
            f"asgi-bench run {self.layout.run_id}: {len(settings.specs)} servers x "
            f"{len(settings.workloads)} apps, {planned}, "
            f"{settings.warmup:g}s warm-up + {settings.duration:g}s each, "
            f"server CPUs {list(settings.server_cpus)}, driver CPUs {list(settings.driver_cpus)}, "
            f"{settings.driver_processes} Locust process(es)"
            + ("" if settings.config.driver_processes else " (auto: one per driver CPU)")
            + (f"; {settings.native_note}" if settings.native_note else "")
        )
        _warn_about_the_driver(settings, self.console)
        replay = self.manifest.get("replay")
        if replay:
            then = replay["recorded_on"]
            where = "this machine"
            if not replay["same_machine"]:
                machine = f"{then['hostname']}, {then['cpu_count']} x {then['cpu_model']}"
                where = f"another machine ({machine})"
            self.console.print(f"replaying run {replay['run_id']}, recorded on {where}")

    def measure_planned(self) -> None:
        with _progress(self.console) as progress:
            task = progress.add_task("repeats", total=len(self.jobs))
            for job in self.jobs:
                progress.update(task, description=job.key)
                repeat = self.measure_one(job, progress.console)
                progress.advance(task)
                native = self.native_after(job, repeat)
                if native is not None:
                    total = (progress.tasks[0].total or 0) + 1
                    progress.update(task, description=native.key, total=total)
                    order = self.manifest["plan"]["order"]
                    order.insert(order.index(job.key) + 1, native.key)  # planned as it follows
                    self.measure_one(native, progress.console)
                    progress.advance(task)

    def native_after(self, job: Job, repeat: Repeat) -> Job | None:
        """The same closed-loop step driven by the native tool of its HTTP version (or
        None): the peak the server reaches when the driver costs a few µs a request, beside
        Locust's, with the same connections (and streams) and requests. Every ok step gets
        one, saturated or not: granian, 95% busy under Locust, has served 1.4 times as much
        under wrk (README)."""
        name = self.settings.native_tools.get(job.step.http.version)
        if name is None or repeat.status != "ok":
            return None
        if not follows(job.step, job.workload, get_tool(name), self.settings.driver_processes):
            return None
        assert isinstance(job.step, Closed)  # follows() says so
        return replace(job, step=Native.after(job.step, name))

    def measure_one(self, job: Job, out: Console | None = None) -> Repeat:
        """Run one repeat, keep it, rewrite the summary, and print its line."""
        assert self.resources is not None, "measure_one() runs inside run()"
        job = replace(job, order=len(self.repeats))  # its place in the run as measured
        if job.order:
            time.sleep(self.settings.cooldown)  # let the last server's echo die down
        started = time.monotonic()
        repeat = run_job(self.settings, job, self.layout, self.resources, self.database)
        self.repeats.append(repeat)
        _summarise(self.layout, self.repeats, self.manifest)
        (out or self.console).print(_line(repeat, time.monotonic() - started))
        return repeat

    def search(self) -> None:
        _search_all(self.settings, self.measure_one, len(self.repeats), self.console)

    def interrupted(self, exc: Interrupted) -> None:
        if exc.result is not None:
            self.repeats.append(exc.result)
        self.manifest["interrupted"], self.manifest["interrupted_by"] = True, exc.name
        self.console.print(f"[yellow]interrupted ({exc.name}): writing the partial results[/]")
        self.exit_code = exitcodes.SIGNALLED + exc.signum

    def finish(self, stops: Stops) -> None:
        """The last writes; a signal that arrived while they ran is written in, once more."""
        self.manifest["finished_at"] = _now()
        written = _finish(self.layout, self.manifest, self.repeats, self.console)
        self.exit_code = written or self.exit_code
        if stops.deferred_signal is not None and not self.manifest.get("interrupted"):
            name = signal.Signals(stops.deferred_signal).name
            self.manifest["interrupted"], self.manifest["interrupted_by"] = True, name
            self.console.print(f"[yellow]interrupted ({name}): the results are complete[/]")
            written = _finish(self.layout, self.manifest, self.repeats, self.console)
            self.exit_code = written or exitcodes.SIGNALLED + stops.deferred_signal

    def write_junit(self, rows: list[Row]) -> None:
        path = self.settings.config.junit
        if path is None:
            return
        try:
            write_text(path, junit_xml(rows, self.layout.run_id))
        except WriteError as exc:
            self.exit_code = self.exit_code or _failed(self.manifest, str(exc))

    def judge_rows(self, rows: list[Row]) -> None:
        """A run that ended well, whose rows none succeeded, exits with NOTHING_MEASURED;
        with --fail-on-slo, one whose rows missed their SLO exits with SLO_MISSED."""
        if self.exit_code:
            return
        if rows and not any(r.status == "ok" for r in rows):
            counts = Counter(r.status for r in rows)
            said = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            _error(f"no row succeeded ({said}): see the report for each reason")
            self.exit_code = exitcodes.NOTHING_MEASURED
            return
        missed = [r for r in rows if r.slo_pass is False]
        if self.settings.config.fail_on_slo and missed:
            _error(
                f"{len(missed)} row(s) missed their SLO: "
                + "; ".join(f"{r.cell} {r.step} ({r.slo_detail})" for r in missed)
            )
            self.exit_code = exitcodes.SLO_MISSED

    def _on_repeated_signal(self, name: str) -> None:
        self.console.print(
            f"[yellow]{name} again: still stopping servers and Locust, please wait[/]"
        )


def _summarise(layout: RunLayout, repeats: list[Repeat], manifest: dict[str, Any]) -> None:
    write_summary(layout, rows_of(repeats, manifest), manifest)


def _search_all(
    settings: Settings,
    measure_one: Callable[[Job], Repeat],
    done: int,
    console: Console,
) -> None:
    """--rates auto: each cell, in a seeded shuffled order, searches its capacity at each
    HTTP version it is measured at; ``done`` repeats ran before it."""
    orders = itertools.count(done)  # each repeat's place in the run
    cells = [
        (spec, w, http)
        for spec in settings.specs
        for w in settings.workloads
        for http in settings.https
        if w.http2 or not http.h2
    ]
    random.Random(settings.seed).shuffle(cells)
    processes = settings.driver_processes
    limit = driver_figure().rps_per_process * processes
    config = settings.config
    for spec, workload, http in cells:

        def measure_step(
            step: Open, k: int, spec: ServerSpec = spec, workload: Workload = workload
        ) -> Repeat:
            return measure_one(Job(spec, workload, step, k, next(orders)))

        slo = settings.slo_for(workload)
        start = workload.rates[0] if workload.rates else 100.0
        first = Open(start, config.arrival, config.slots, http)
        found = search_cell(measure_step, slo, start, limit, first, settings.repeat)
        bound = "≥" if found.lower_bound else ""
        capacity = "none" if found.capacity is None else f"{bound}{found.capacity:g} req/s"
        over = " over HTTP/2" if http.h2 else ""
        console.print(
            f"[bold]capacity[/] {spec.name} / {workload.name}{over} at {slo.text}: {capacity} "
            f"(stopped by {found.stopped_by}, {len(found.trials)} steps)"
        )


def _warn_about_the_driver(settings: Settings, console: Console) -> None:
    """Open steps above what the configured driver processes can offer will be driver-limited:
    say so before the run, with where the figure comes from."""
    figure = driver_figure()
    processes = settings.driver_processes
    rates = {
        step.rate for steps in settings.steps.values() for step in steps if isinstance(step, Open)
    }
    above = sorted(rate for rate in rates if rate / processes > figure.rps_per_process)
    if above:
        console.print(
            f"[yellow]warning: {', '.join(f'{r:g}' for r in above)} req/s is more than "
            f"{processes} driver process(es) can offer here (~{figure.rps_per_process:,.0f} "
            f"req/s each, {figure.source}): those steps will likely be driver-limited; "
            "add --driver-processes or driver cores[/]"
        )


def run_job(
    settings: Settings,
    job: Job,
    layout: RunLayout,
    resources: Resources,
    database: Database | None = None,
) -> Repeat:
    """Measure one repeat (or record why it cannot run), and write it."""
    where = layout.repeat(job.spec.name, job.workload.name, job.step.id, job.repeat, job.bare)
    policy = policy_for(settings, job)
    why_not = _why_not(settings, job, database)
    if why_not:
        repeat = Repeat(job.spec.name, job.workload.name, job.step.id, job.repeat, order=job.order)
        repeat.framework, repeat.bare = job.workload.framework, job.bare
        repeat.status, repeat.reason, repeat.load = "unsupported", why_not, job.step.kind
        write_json(where.repeat_json, repeat.to_dict(), schema=True)
        return repeat
    measurement = measure(job, where, resources)
    repeat = judge(measurement.facts, policy)
    repeat.bare = job.bare
    write_repeat(where, measurement, repeat, resources)  # the figures first, whatever follows
    if settings.config.profile:
        analyse(job, where, repeat, settings.config.profile)
        write_json(where.repeat_json, repeat.to_dict(), schema=True)
    if measurement.interrupted is not None:
        measurement.interrupted.result = repeat
        raise measurement.interrupted
    return repeat


def _why_not(settings: Settings, job: Job, database: Database | None) -> str | None:
    spec = job.spec
    if not spec.available:
        return f"not installed: {spec.install_hint}"
    missing = framework_missing(job.workload)
    if missing:
        return missing
    missing = unavailable(job.workload, database)
    if missing:
        return missing
    config = settings.config
    options = LaunchOptions(job.workload.app, settings.host, 0, config.workers)
    if config.tls:
        options = LaunchOptions(job.workload.app, settings.host, 0, config.workers, "c", "k")
    return spec.unsupported(options)


def write_repeat(
    where: RepeatLayout, measurement: Measurement, repeat: Repeat, resources: Resources
) -> None:
    """Everything a repeat leaves behind; runs after all of its processes have stopped."""
    facts = measurement.facts
    write_json(where.repeat_json, repeat.to_dict(), schema=True)
    if measurement.server_samples:
        write_text(
            where.server_samples,
            "".join(json.dumps(s.__dict__) + "\n" for s in measurement.server_samples),
        )
    if facts.client is not None:
        write_json(where.client_json, client_json(facts.client))
    raw = getattr(measurement.counters, "raw", None)
    if raw:
        write_text(where.server_state, "".join(json.dumps(r) + "\n" for r in raw))
    if facts.traceback:
        write_text(where.traceback, facts.traceback)


def _finish(
    layout: RunLayout, manifest: dict[str, Any], repeats: list[Repeat], console: Console
) -> int:
    """The last writes: run.json, the summary and the report. Returns 1 if one failed."""
    from asgi_bench.report.page import render_report

    try:
        write_json(layout.run_json, manifest, schema=True)
        _summarise(layout, repeats, manifest)
    except WriteError as exc:
        return _failed(manifest, str(exc))
    try:
        render_report(layout.root)
    except WriteError as exc:
        return _failed(manifest, f"the report was not written: {exc}")
    return 0


def _failed(manifest: dict[str, Any], message: str) -> int:
    """Say why a write failed, once: the writes after it (run.json, the summary, the report)
    fail of the same full disk, and the README promises one line. Returns the exit code."""
    if not manifest.get("error"):
        manifest["error"] = message
        _error(message)
    return exitcodes.ERROR


def _error(message: str) -> None:
    print(f"asgi-bench: {message}", file=sys.stderr)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _line(r: Repeat, seconds: float) -> str:
    color = {"ok": "green", "failed": "red", "unsupported": "yellow"}[r.status]
    twin = "-bare" if r.bare else ""  # --paired's twin without the middleware
    head = f"[{color}]{r.status:<11}[/] {r.server:<17} {r.app:<10} {r.step:<13} r{r.repeat}{twin}"
    if r.status != "ok" or r.rps is None:
        return f"{head} {r.reason}  ({seconds:.0f}s)"
    bound = "≥" if r.bound == "driver" else " "
    cpu = f"{r.cpu_us_per_request:6.0f} µs CPU/req" if r.cpu_us_per_request is not None else ""
    p50 = f"{r.p50_ms:6.2f}" if r.p50_ms is not None else "     –"
    p99 = f"{r.p99_ms:6.2f}" if r.p99_ms is not None else "     –"
    notes = "  " + "; ".join(r.notes) if r.notes else ""
    return (
        f"{head} {bound}{r.rps:>8.0f} req/s  p50 {p50} ms  p99 {p99} ms  {cpu}{notes}"
        f"  ({seconds:.0f}s)"
    )
