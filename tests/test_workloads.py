"""The larger workloads on real servers: 1 MiB answers (whole, and by pathsend where it is
offered, unsupported where it is not), a 20 MiB upload, and one query a request on a real
PostgreSQL (a throwaway cluster, --db-dsn, or compose's database service), or unsupported,
saying why, without one."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from asgi_bench import envvars, exitcodes
from asgi_bench.apps.db import SETUP_SQL
from asgi_bench.run.resources import free_port
from asgi_bench.system import healthcheck
from asgi_bench.system.postgres import PG_BIN, server_binaries, throwaway_cluster
from asgi_bench.system.processes import ManagedProcess
from tests.e2e import only_run, rows, short_run
from tests.servers import running


@pytest.fixture
def postgres_installed() -> None:
    if server_binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's postgresql (scripts/install)")
        pytest.skip("PostgreSQL's server is not installed (Debian's postgresql)")


def _by_cell(run_dir: Path) -> dict[tuple[str, str], dict[str, object]]:
    return {(str(r["server"]), str(r["app"])): r for r in rows(run_dir)}


def test_large_answers_whole_and_by_pathsend_where_the_server_offers_it(tmp_path):
    proc = short_run(
        tmp_path, "--servers", "uvicorn,granian", "--apps", "large,large-file", "--rates", "50"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = _by_cell(only_run(tmp_path))
    for cell in [("uvicorn", "large"), ("granian", "large"), ("granian", "large-file")]:
        row = found[cell]
        assert row["status"] == "ok" and row["count_check"] == "ok", (cell, row["reason"])
        assert row["errors"] == 0 and row["capabilities"]["verified"], cell  # type: ignore[index]
    assert found["granian", "large-file"]["capabilities"]["pathsend"]  # type: ignore[index]
    refused = found["uvicorn", "large-file"]
    assert refused["status"] == "unsupported"
    assert refused["reason"] == (
        "uvicorn offers no pathsend: the scope lists no http.response.pathsend"
    )


def test_a_20_mib_upload_is_hashed_by_the_app_and_checked(tmp_path):
    proc = short_run(tmp_path, "--servers", "uvicorn", "--apps", "upload-large", "--rates", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = rows(only_run(tmp_path))
    assert row["status"] == "ok" and row["count_check"] == "ok", row["reason"]
    assert row["requests"] >= 6 and row["errors"] == 0  # 4 req/s for 2 s, every hash right


@pytest.mark.usefixtures("postgres_installed")
def test_db_rows_query_a_throwaway_postgresql_that_is_gone_afterwards(tmp_path):
    proc = short_run(
        tmp_path, "--servers", "uvicorn,granian", "--apps", "db", "--rates", "100", "--load", "open"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(tmp_path)
    for row in rows(run_dir):
        assert row["status"] == "ok" and row["count_check"] == "ok", row["reason"]
        assert row["errors"] == 0 and row["requests"] >= 150, row
    database = json.loads((run_dir / "run.json").read_text())["database"]
    assert database["source"] == "throwaway" and database["version"], database
    # The no_orphans fixture checks that its postgres is gone with the servers.


@pytest.mark.usefixtures("postgres_installed")
def test_db_with_db_dsn_uses_that_database(tmp_path):
    with throwaway_cluster(free_port(), SETUP_SQL) as cluster:
        proc = short_run(
            tmp_path / "out", "--servers", "uvicorn", "--apps", "db", "--rates", "50",
            "--db-dsn", cluster.dsn,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(tmp_path / "out")
    (row,) = rows(run_dir)
    assert row["status"] == "ok", row["reason"]
    database = json.loads((run_dir / "run.json").read_text())["database"]
    assert database == {"source": "--db-dsn", "dsn": cluster.dsn}


def test_without_postgresql_db_rows_are_unsupported_saying_why(tmp_path):
    env = {**os.environ, PG_BIN: str(tmp_path / "no-postgres-here")}
    proc = short_run(
        tmp_path, "--servers", "uvicorn", "--apps", "db,hello", "--rates", "50", env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = _by_cell(only_run(tmp_path))
    assert found["uvicorn", "hello"]["status"] == "ok"
    db = found["uvicorn", "db"]
    assert (db["status"], db["reason"]) == (
        "unsupported",
        "no PostgreSQL: Debian's postgresql is not installed, and no --db-dsn was given",
    )


@pytest.mark.usefixtures("postgres_installed")
def test_composes_topology_a_database_service_and_servers_pointed_at_it(tmp_path, monkeypatch):
    # What compose's postgres service, servers and bench do, without Docker: `asgi-bench
    # database` holds the cluster, the healthcheck waits for its table, the servers mount
    # /db by the DSN in their environment, and the bench is given it by --db-dsn.
    port = free_port()
    dsn = f"postgresql://bench@127.0.0.1:{port}/postgres"
    # Its own temporary folder, one that the postgres user (as root) may pass through.
    scratch = Path(tempfile.mkdtemp(prefix="asgi-bench-test-"))
    scratch.chmod(0o755)
    database = ManagedProcess(
        [sys.executable, "-m", "asgi_bench", "database", "--port", str(port)],
        tmp_path / "database.log",
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        monkeypatch.setenv("HEALTHCHECK_URL", dsn)
        deadline = time.monotonic() + 60
        while healthcheck.main() != 0:
            assert database.poll() is None, database.log_tail()
            assert time.monotonic() < deadline, "the database never became healthy"
            time.sleep(0.3)
        monkeypatch.setenv(envvars.DB_DSN, dsn)
        with running("uvicorn", "all", tmp_path) as uvicorn:
            target = f"uvicorn={uvicorn.base_url}"
            with_dsn = short_run(
                tmp_path / "with", "--targets", target, "--apps", "db,hello", "--rates", "50",
                "--load", "open", "--db-dsn", dsn,
            )  # fmt: skip
            without = short_run(tmp_path / "without", "--targets", target, "--apps", "db")
    finally:
        stopped = database.stop(grace=20)
        left = list(scratch.iterdir())
        shutil.rmtree(scratch)
    assert with_dsn.returncode == 0, with_dsn.stderr[-2000:]
    for row in rows(only_run(tmp_path / "with")):
        assert row["status"] == "ok" and row["count_check"] == "ok", row["reason"]
        assert row["errors"] == 0 and row["requests"] >= 75, row
    (refused,) = rows(only_run(tmp_path / "without"))
    assert without.returncode == exitcodes.NOTHING_MEASURED, without.stderr[-2000:]
    assert (refused["status"], refused["reason"]) == (
        "unsupported",
        "--targets servers query their own PostgreSQL: give it as --db-dsn",
    )
    assert stopped == 0, database.log_tail()  # a stop signal is how it is meant to end
    assert left == []  # the cluster's folder went with it
