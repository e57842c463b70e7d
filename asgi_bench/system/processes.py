"""Child processes that are always stopped with their whole tree.

Every child starts in its own session (so a Ctrl+C at the terminal reaches only the harness,
which then stops its children in order) and is stopped by pid: first a polite signal to the
leader, so servers run their lifespan shutdown, then SIGKILL to every process of the tree
that is still alive. Nothing is found or killed by name. A harness killed before it could
do so leaves the rest to :mod:`asgi_bench.system.watchdog`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

from asgi_bench.system.signals import signals_held
from asgi_bench.system.watchdog import WATCHDOG, session_members

# A line of a server's or Locust's output that says why it stopped.
_EXPLAINS = re.compile(
    r"address already in use|error|exception|cannot|could not|not found|denied|refused",
    re.IGNORECASE,
)


def user_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment, with the folder asgi-bench was started in first on the import path:
    a user's own ``--app`` is imported from there, as uvicorn's ``--app-dir .`` does."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def describe_exit(code: int | None) -> str:
    """``-9`` -> ``"was killed by SIGKILL"``; ``3`` -> ``"exited with code 3"``."""
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def explain(log_text: str) -> str:
    """The last line of a log that explains a failure (``address already in use``, an
    import error), or ``""``."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXPLAINS.search(line) and not line.startswith(("File ", "Traceback")):
            return line[:300]
    return ""


def listens(connections: Iterable[Any], port: int) -> bool:
    """Is one of these psutil connections a TCP listener on ``port``?"""
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr and c.laddr[1] == port for c in connections
    )


class ManagedProcess:
    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cpus: Sequence[int] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        if cpus:
            argv = [
                sys.executable,
                "-m",
                "asgi_bench.system.pin",
                ",".join(map(str, cpus)),
                "--",
                *argv,
            ]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._known: dict[int, psutil.Process] = {}
        self.started: float | None = None
        try:
            # A stop signal inside Popen would leave its child running and no object to
            # stop it by: held there, it is raised when Popen is done, in this try.
            with signals_held():
                self.popen = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    start_new_session=True,
                )
                self.pid = self.popen.pid
            self.remember_tree()
            leader = self._known.get(self.pid)
            self.started = leader.create_time() if leader is not None else None
            if self.started is not None:
                WATCHDOG.watch(self.pid, self.started)  # its session dies with the harness
        except BaseException:
            # A signal between the start and the caller's hold on this object: nobody else
            # could stop the process, so it is stopped here.
            if getattr(self, "popen", None) is not None:
                self.stop(grace=1.0)
            else:
                self._log.close()
            raise

    def remember_tree(self) -> list[psutil.Process]:
        """The live tree; every process seen is remembered so it can be stopped later."""
        if self.popen.returncode is not None:
            return []  # the leader is reaped: its pid may be someone else's by now
        try:
            leader = psutil.Process(self.pid)
            tree = [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for proc in tree:
            self._known.setdefault(proc.pid, proc)
        return tree

    def poll(self) -> int | None:
        return self.popen.poll()

    def describe_exit(self) -> str:
        return describe_exit(self.popen.poll())

    def explain(self) -> str:
        """The log line that says why this process stopped, if there is one."""
        return explain(self.log_tail(200))

    def log_tail(self, lines: int = 20) -> str:
        if not self._log.closed:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_accounted(self, timeout: float) -> tuple[int | None, float | None]:
        """As :meth:`wait`, reaping the leader here to read the CPU time the kernel kept for
        it (user and system, all its threads): the figure a program that prints none of its
        own (h2load) is judged by. It includes the few ms the pinning trampoline ran before
        it exec'd the program (the same process). (None, None) while it still runs; its
        CPU is None where something else reaped it first."""
        deadline = time.monotonic() + timeout
        while self.popen.returncode is None:
            # Reaped and told as one step: a stop signal between the two would leave Popen
            # waiting on a pid that is gone (or, later, someone else's).
            with signals_held():
                try:
                    pid, status, usage = os.wait4(self.pid, os.WNOHANG)
                except ChildProcessError:  # reaped by Popen after all
                    return self.popen.poll(), None
                if pid == self.pid:
                    # Popen would find no child to wait for now: it is told the code instead
                    # (its wait() and poll() return a returncode once set).
                    self.popen.returncode = os.waitstatus_to_exitcode(status)
                    return self.popen.returncode, usage.ru_utime + usage.ru_stime
            if time.monotonic() >= deadline:
                return None, None
            time.sleep(0.02)
        return self.popen.returncode, None

    def stop(self, grace: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        """Stop the tree: ``sig`` to the leader, wait up to ``grace`` s, then SIGKILL the rest.

        The SIGKILL sweep runs whatever interrupts the polite part (a stop signal raised in
        the harness): a child is never left running because its clean-up was interrupted.
        """
        try:
            self.remember_tree()
            if self.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)
                self.wait(grace)
            deadline = time.monotonic() + grace
            for proc in self._known.values():
                # Workers shut down after the leader; give them the rest of the grace period.
                with contextlib.suppress(psutil.Error):
                    proc.wait(max(0.0, deadline - time.monotonic()))
        finally:
            self.kill()
            if not self._log.closed:
                self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL whatever is left of the tree, by pid, and reap the leader. Workers whose
        leader died (a Locust master that failed, hypercorn's) are found by their session."""
        self.remember_tree()
        for pid in session_members(self.pid, self.started):
            with contextlib.suppress(psutil.Error):
                self._known.setdefault(pid, psutil.Process(pid))
        for proc in self._known.values():
            with contextlib.suppress(psutil.Error):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    proc.kill()
        with contextlib.suppress(psutil.Error):
            psutil.wait_procs(list(self._known.values()), timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)
        WATCHDOG.done(self.pid)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
