"""Nothing outlives the harness, even when it is killed with SIGKILL.

A harness killed by SIGKILL (the OOM killer, ``kill -9``, a CI runner out of patience)
runs none of its own clean-up: its servers and Locust would keep running, and the
throwaway TLS key would stay in the temporary folder. So the first child it starts is this
watchdog, a small process in a session of its own (a signal to the harness's process group
does not reach it), holding the read end of a pipe whose only write end the harness holds.
The harness tells it, one line each:

* ``watch PID STARTED``: a child that leads a session of its own (every
  :class:`ManagedProcess` does), started at ``STARTED`` (its create time): its whole
  session is stopped if the harness dies, workers of workers included;
* ``done PID``: that child has been stopped;
* ``remove PATH``: a folder to delete if the harness dies.

The CLI enables it (:meth:`Watchdog.enable`) and the first order starts it; code that
uses the harness as a library has none. The pipe closes when the harness exits, however it
exits. The watchdog then sends SIGKILL to every process of each session still watched
(found by session id, killed by pid), and deletes the folders. A harness that stopped its
children itself leaves nothing to do.

Example::

    WATCHDOG.enable()              # once, in the CLI
    WATCHDOG.watch(server.pid)     # after it starts
    WATCHDOG.done(server.pid)      # after it is stopped
    WATCHDOG.remove_on_death(tls)  # a folder that must not outlive the run
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil


class Watchdog:
    """The harness's side: starts the watchdog and sends it its orders."""

    def __init__(self) -> None:
        self.enabled = False
        self._pipe: IO[str] | None = None
        self._proc: subprocess.Popen[str] | None = None  # held while the watchdog runs
        self._lock = threading.Lock()

    def enable(self) -> None:
        """Have a watchdog from the first order on (the CLI does; a library use does not)."""
        self.enabled = True

    def _start(self) -> None:
        if self._pipe is None and self.enabled:
            self.enabled = False  # one try: a watchdog that cannot start is not retried
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "asgi_bench.system.watchdog"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,  # Ctrl+C and group kills of the harness miss it
            )
            self._pipe = self._proc.stdin

    def watch(self, pid: int, started: float) -> None:
        self._send(f"watch {pid} {started!r}")

    def done(self, pid: int) -> None:
        self._send(f"done {pid}")

    def remove_on_death(self, path: Path | str) -> None:
        self._send(f"remove {os.fspath(path)}")

    def _send(self, line: str) -> None:
        with self._lock:
            try:
                self._start()
                if self._pipe is None:
                    return  # not enabled (a library use), or a watchdog that died
                self._pipe.write(line + "\n")
                self._pipe.flush()
            except (OSError, ValueError):
                # A watchdog that died is a safety net lost, not a reason to stop the run.
                self._pipe = None


WATCHDOG = Watchdog()


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[str]:
    """A temporary folder, removed on the way out, or by the watchdog if the harness dies."""
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        WATCHDOG.remove_on_death(path)
        yield path


def session_members(session: int, leader_started: float | None = None) -> list[int]:
    """Every process of ``session``, by pid, read from /proc: a child's workers stay in its
    session after it dies, where no tree of parents finds them any more.

    Linux gives no new process a pid that is still some live process's session id, so while
    any of our members live the number is ours. Once they are all gone it can be reused: a
    live process with that pid and another start time than ``leader_started`` leads someone
    else's session, and nothing is returned."""
    if leader_started is not None:
        with contextlib.suppress(OSError, psutil.Error):
            if abs(psutil.Process(session).create_time() - leader_started) > 0.01:
                return []
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry)) == session:
                    members.append(int(entry))
    return members


def _clean_up(sessions: dict[int, float], paths: set[str]) -> None:
    for session, started in sessions.items():
        for pid in session_members(session, started):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    """The watchdog itself: read orders until the pipe closes, then clean up."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe's end ends it
    sessions: dict[int, float] = {}  # session id -> its leader's start time
    paths: set[str] = set()
    for line in sys.stdin:
        order, _, value = line.rstrip("\n").partition(" ")
        if order == "watch":
            pid, _, started = value.partition(" ")
            sessions[int(pid)] = float(started)
        elif order == "done":
            sessions.pop(int(value), None)
        elif order == "remove":
            paths.add(value)
    _clean_up(sessions, paths)


if __name__ == "__main__":
    main()
