"""`supervisor heartbeat` as the seed's container runs it: a process with only env vars."""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from services.cdp.store import CdpStore
from tests.integration.cdp.timeline import ev, load

SUPERVISOR = str(Path(sys.executable).with_name("supervisor"))


async def oneshot(tmp_path: Path, **env: str) -> tuple[int, dict[str, object] | None, str]:
    """Run the command in an empty directory (no config.toml) with just these variables."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOG_FORMAT": "plain",
            "DATA_DIR": str(tmp_path / "data")}
    done = await anyio.run_process([SUPERVISOR, "heartbeat"], env={**base, **env},
                                   cwd=tmp_path, check=False)
    out = done.stdout.decode()
    return done.returncode, (json.loads(out) if out.strip() else None), done.stderr.decode()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SEED = {"RANGE": "now-1h|now", "QUALIFY_BY": "inactive-session", "SKIP_SECONDS": "900",
        "EVENT_TYPE": "session-inactive", "PRODUCTION": "no"}


async def test_runs_once_prints_what_it_did_and_a_second_run_emits_nothing(
        tmp_path: Path, db_dsn: str, cdp: CdpStore) -> None:
    now = datetime.now(UTC)
    await load(cdp, ev("s1", "p1", "page-view", now - timedelta(minutes=20)),
               ev("s2", "p2", "page-view", now - timedelta(minutes=3)))
    code, report, err = await oneshot(tmp_path, DATABASE_URL=db_dsn, **SEED)
    assert code == 0, err
    assert report is not None
    assert report["examined"] == {"sessions": 2}
    assert report["emitted"] == {"session-inactive": 1}
    assert report["redis"] == "not configured"
    assert "heartbeat inactive-session over now-1h|now: examined 2 sessions, emitted 1 " \
        "session-inactive" in err
    code, report, err = await oneshot(tmp_path, DATABASE_URL=db_dsn, **SEED)
    assert code == 0 and report is not None and report["emitted"] == {}, err


async def test_bad_settings_are_refused_before_touching_data(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{closed_port()}/none"
    code, report, err = await oneshot(tmp_path, DATABASE_URL=nowhere,
                                      **{**SEED, "QUALIFY_BY": "sleepy-session"})
    assert (code, report) == (78, None)
    assert "QUALIFY_BY='sleepy-session' is not a heartbeat mode; allowed values: " \
        "inactive-session, session-not-closed" in err
    assert "Traceback" not in err
    code, _, err = await oneshot(tmp_path, DATABASE_URL=nowhere, **{**SEED, "RANGE": "now-1h"})
    assert code == 78 and "RANGE='now-1h'" in err and "position 6" in err
    missing = {k: v for k, v in SEED.items() if k != "EVENT_TYPE"}
    code, _, err = await oneshot(tmp_path, DATABASE_URL=nowhere, **missing)
    assert code == 78 and "EVENT_TYPE is required with QUALIFY_BY=inactive-session" in err


async def test_unreachable_elasticsearch_exits_non_zero_naming_it(
        tmp_path: Path, db_dsn: str, cdp: CdpStore) -> None:
    port = closed_port()
    code, report, err = await oneshot(tmp_path, DATABASE_URL=db_dsn,
                                      ELASTIC_HOST=f"http://127.0.0.1:{port}", **SEED)
    assert (code, report) == (69, None)
    assert f"Elasticsearch at http://127.0.0.1:{port} is unreachable" in err
    assert "Traceback" not in err


async def test_redis_is_optional_and_reported(tmp_path: Path, db_dsn: str, cdp: CdpStore,
                                              redis_url: str) -> None:
    host = redis_url.rsplit("/", 1)[0]
    code, report, err = await oneshot(tmp_path, DATABASE_URL=db_dsn, REDIS_HOST=host, **SEED)
    assert code == 0 and report is not None and report["redis"] == "reachable", err
    code, report, err = await oneshot(tmp_path, DATABASE_URL=db_dsn,
                                      REDIS_HOST=f"redis://127.0.0.1:{closed_port()}",
                                      REDIS_PASSWORD="password", **SEED)
    assert code == 0 and report is not None, err
    assert str(report["redis"]).startswith("unreachable")
