"""``asgi-bench database``: the db workload's PostgreSQL, held until a stop signal.

The throwaway cluster a run makes for itself (:mod:`asgi_bench.system.postgres`), on a port
of the caller's choosing and for as long as the caller likes: compose's ``postgres`` service,
whose servers and bench are pointed at it by ``ASGI_BENCH_DB_DSN`` and ``--db-dsn``. The
cluster and its folder are gone when the command ends::

    $ asgi-bench database --port 5439
    database: postgresql://bench@127.0.0.1:5439/postgres (PostgreSQL 15.14), the world table made
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from asgi_bench.apps.db import SETUP_SQL
from asgi_bench.errors import Interrupted
from asgi_bench.system.postgres import throwaway_cluster
from asgi_bench.system.signals import stop_signals


def hold_database(args: argparse.Namespace, console: Console) -> int:
    try:
        with (
            stop_signals(),
            throwaway_cluster(args.port, SETUP_SQL, max_connections=args.max_connections) as db,
        ):
            console.print(
                f"database: {db.dsn} (PostgreSQL {db.version}), the world table made",
                soft_wrap=True,
            )
            while True:
                time.sleep(3600)
    except Interrupted as exc:  # how it is meant to end: the cluster is stopped by now
        console.print(f"database: stopped ({exc.name})")
        return 0
