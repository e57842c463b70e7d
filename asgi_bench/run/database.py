"""The db workload's PostgreSQL for one run: ``--db-dsn``, else a throwaway cluster (Debian's
``postgresql`` installed), else none, and the db rows say why (``unsupported``).

The servers find it by ``ASGI_BENCH_DB_DSN`` in the environment they inherit, set here for
the run's length. A throwaway cluster runs on the servers' CPUs (it is part of what answers
each request; the driver's CPUs stay the driver's) and is stopped, by its pid, when the run
ends, whatever ended it. A ``--db-dsn`` database must hold the ``world`` table that
``asgi_bench.apps.db.SETUP_SQL`` makes (the verify step fails the cell otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from asgi_bench import envvars
from asgi_bench.apps.db import SETUP_SQL
from asgi_bench.run.resources import free_port
from asgi_bench.system.postgres import DatabaseError, server_binaries, throwaway_cluster
from asgi_bench.workloads import Workload


@dataclass
class Database:
    dsn: str | None
    problem: str = ""  # why there is none: the db rows' reason
    described: dict[str, Any] = field(default_factory=dict)  # run.json's "database"


@contextmanager
def database_for(
    workloads: Iterable[Workload], given: str | None, cpus: Sequence[int], targets: bool = False
) -> Iterator[Database | None]:
    """The database of a run of ``workloads`` while it lasts: ``given`` (``--db-dsn``), else a
    throwaway cluster on ``cpus``, unless the servers are ``targets`` (they query their own);
    None when no workload needs one."""
    if not any(w.database for w in workloads):
        yield None
        return
    if given:
        with _in_env(given):
            yield Database(given, described={"source": "--db-dsn", "dsn": redacted(given)})
        return
    if targets:  # a cluster of ours would be one they never heard of
        why = "--targets servers query their own PostgreSQL: give it as --db-dsn"
        yield Database(None, why, {"source": None, "problem": why})
        return
    if server_binaries() is None:
        why = "no PostgreSQL: Debian's postgresql is not installed, and no --db-dsn was given"
        yield Database(None, why, {"source": None, "problem": why})
        return
    with ExitStack() as held:
        try:
            cluster = held.enter_context(throwaway_cluster(free_port(), SETUP_SQL, cpus))
        except DatabaseError as exc:
            why = f"PostgreSQL did not start: {exc}"
            yield Database(None, why, {"source": "throwaway", "problem": why})
            return
        described = {
            "source": "throwaway",
            "dsn": cluster.dsn,
            "version": cluster.version,
            "cpus": list(cpus),
        }
        with _in_env(cluster.dsn):
            yield Database(cluster.dsn, described=described)


def unavailable(workload: Workload, database: Database | None) -> str | None:
    """Why ``workload`` cannot run for want of its database, or None."""
    if not workload.database or (database is not None and database.dsn is not None):
        return None
    return database.problem if database is not None else "no database for it"


def redacted(dsn: str) -> str:
    """A DSN without its password, for run.json.

    >>> redacted("postgresql://bench:secret@127.0.0.1:5432/db")
    'postgresql://bench:***@127.0.0.1:5432/db'
    """
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    return dsn.replace(f":{parts.password}@", ":***@", 1)


@contextmanager
def _in_env(dsn: str) -> Iterator[None]:
    before = os.environ.get(envvars.DB_DSN)
    os.environ[envvars.DB_DSN] = dsn
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(envvars.DB_DSN, None)
        else:
            os.environ[envvars.DB_DSN] = before
