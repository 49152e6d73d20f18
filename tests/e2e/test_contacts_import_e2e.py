"""insert_csv_file through the daemon: `supervisor data import`, kill -9 halfway, resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from bench.csvgen import write_file
from tests.contacts.importsupport import context, resources, run_import, snapshot
from tests.e2e.procs import DaemonProc, cli
from tests.helpers import eventually

ROWS = 60_000


@pytest.fixture
def procs() -> Iterator[list[DaemonProc]]:
    started: list[DaemonProc] = []
    yield started
    for p in started:
        p.kill()


def _daemon(dsn: str, log: Path, data_dir: Path) -> DaemonProc:
    return DaemonProc(dsn, log, "--only", "rescue,first_time,retry", DATA_DIR=str(data_dir),
                      PARALLEL_JOBS="1", NODE_STALE_SECONDS="2", BATCH_SIZE_FOR_INSERTION="500")


async def _job(pool: asyncpg.Pool, uuid: UUID) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT status, checkpoint, job_response, rescues FROM jobs "
                              "WHERE uuid = $1", uuid)
    assert row is not None
    return row


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_kill_9_halfway_then_restart_resumes_and_equals_a_clean_import(
        db_dsn: str, pool: asyncpg.Pool, tmp_path: Path, procs: list[DaemonProc]) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "people.csv"
    gen = write_file(source, ROWS, bad_every=997)
    done = await cli(db_dsn, "data", "import", str(source), "--no-wait", DATA_DIR=str(data_dir))
    assert done.returncode == 0, done.stderr.decode()
    uuid = UUID(done.stdout.decode().strip())
    procs.append(first := _daemon(db_dsn, tmp_path / "first.log", data_dir))

    async def halfway() -> bool:
        cp = (await _job(pool, uuid))["checkpoint"]
        return bool(cp) and ROWS // 4 < cp["line"] < ROWS * 3 // 4

    await eventually(halfway, 300, "a checkpoint halfway through the file")
    first.p.kill()  # SIGKILL: no shutdown, no hand-back
    await first.wait()
    killed_at = (await _job(pool, uuid))["checkpoint"]["offset"]
    procs.append(_daemon(db_dsn, tmp_path / "second.log", data_dir))

    async def finished() -> bool:
        return (await _job(pool, uuid))["status"] in ("completed", "dead")

    await eventually(finished, 300, "the resumed import to finish")
    job = await _job(pool, uuid)
    assert job["status"] == "completed", job["job_response"]
    assert job["rescues"] == 1
    response = job["job_response"]
    assert response["rows"] == gen.rows
    assert [b["line"] for b in response["first_bad_rows"]] == gen.bad_lines[:100]
    started = [line for line in (tmp_path / "second.log").read_text().splitlines()
               if '"import_start"' in line]
    assert started and '"resumed": true' in started[0], started
    assert f'"offset": {killed_at}' in started[0]  # from the last checkpoint, not from 0
    resumed = await snapshot(pool)

    await pool.execute("TRUNCATE companies, contacts, filters_data")
    async with resources(pool, tmp_path / "clean") as res:
        res.objects.path_of("people.csv").parent.mkdir(parents=True, exist_ok=True)
        res.objects.path_of("people.csv").write_bytes(source.read_bytes())
        clean = await run_import(context(res, pool), "people.csv")
    assert await snapshot(pool) == resumed
    assert clean["rows"] == response["rows"]
    assert clean["bad_rows"] == response["bad_rows"]


async def test_data_import_follows_the_job_to_its_end(
        db_dsn: str, tmp_path: Path, procs: list[DaemonProc]) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "small.csv"
    gen = write_file(source, 3000, bad_every=1000)
    procs.append(_daemon(db_dsn, tmp_path / "d.log", data_dir))
    done = await cli(db_dsn, "data", "import", str(source), timeout=120, DATA_DIR=str(data_dir))
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert f"{gen.rows} rows imported" in out and f"{len(gen.bad_lines)} bad rows" in out
    assert "bad rows: uploads/small.csv.errors.csv" in out
    assert (data_dir / "objects" / "default" / "uploads" / "small.csv.errors.csv").is_file()


async def test_data_import_refuses_bad_input_without_a_traceback(db_dsn: str,
                                                                 tmp_path: Path) -> None:
    missing = await cli(db_dsn, "data", "import", str(tmp_path / "nope.csv"),
                        DATA_DIR=str(tmp_path))
    assert missing.returncode == 2
    assert b"is not a readable file" in missing.stderr and b"Traceback" not in missing.stderr
    (tmp_path / "a.csv").write_text("email\na@b.c\n")
    bad = await cli(db_dsn, "data", "import", str(tmp_path / "a.csv"), "--bucket", "Bad_B",
                    DATA_DIR=str(tmp_path))
    assert bad.returncode == 2 and b"--bucket" in bad.stderr and b"Traceback" not in bad.stderr
    key = await cli(db_dsn, "data", "import", str(tmp_path / "a.csv"), "--key", "../x.csv",
                    DATA_DIR=str(tmp_path))
    assert key.returncode == 2 and b"--key" in key.stderr and b"Traceback" not in key.stderr
