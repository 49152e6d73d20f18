"""The embedded PostgreSQL (the pgserver wheel) in DATA_DIR: owned by the daemon, found by the CLI.

Only `supervisor run` and `supervisor db init` start it, and only they create its directory. Every
other command attaches to the server a running daemon started and leaves it as it found it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

from supervisor.config import Config
from supervisor.store.db import DatabaseUnavailable

log = logging.getLogger("supervisor.store.embedded")
OS_USER = "pgserver"  # pgserver runs PostgreSQL as this user when we are root (initdb refuses)


def data_dir(config: Config) -> tuple[Path, str]:
    """DATA_DIR as an absolute path, and a phrase saying how it was resolved.

    A relative DATA_DIR from the config file (or the default, when a config file is in use) is
    taken from the config file's folder, so any command run anywhere with the same file finds the
    same database; one from the environment is taken from the working directory, like any path
    typed in a shell.
    """
    raw = Path(str(config.data_dir)).expanduser()
    source = config.sources.get("data_dir", "default")
    if raw.is_absolute():
        return raw, f"DATA_DIR={raw} (from {source})"
    if source != "env" and config.path is not None:
        base, why = config.path.resolve().parent, f"the folder of {config.path}"
    else:
        base, why = Path.cwd(), "the working directory"
    return (base / raw).resolve(), f"DATA_DIR={raw} (from {source}) taken from {why}"


def pgdata(config: Config) -> Path:
    """Where the embedded cluster's files are."""
    return data_dir(config)[0] / "pgdata"


def _postmaster(pg: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs on a host without XDG_RUNTIME_DIR
        from pgserver.utils import PostmasterInfo  # type: ignore[import-untyped,unused-ignore]
    return PostmasterInfo.read_from_pgdata(pg)


def running_uri(pg: Path) -> str | None:
    """The DSN of a ready server on `pg`, or None when none runs there."""
    info = _postmaster(pg)
    if info is None or not info.is_running() or info.status != "ready":
        return None
    uri: str = info.get_uri()
    return uri


def attach(config: Config) -> str:
    """DSN of the embedded server the daemon runs; never starts or creates one."""
    where, how = data_dir(config)
    pg = where / "pgdata"
    if not (pg / "PG_VERSION").exists():
        raise DatabaseUnavailable(
            f"no embedded database in {pg} ({how}). Run this where the daemon runs or set "
            "DATA_DIR (or DATABASE_URL) like it; `supervisor db init` creates an empty one, "
            "`supervisor run` creates it and starts it")
    uri = running_uri(pg)
    if uri is None:
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL in {pg} is not running ({how}): start the daemon "
            "(`supervisor run`); commands attach to its server and never start one")
    return uri


def _prune_handles(pg: Path) -> None:
    """Forget handles of processes that died without letting go (kill -9), so the last live
    owner's exit really stops the server instead of leaving it running for a ghost."""
    handles = pg / ".handle_pids.json"
    try:
        import json

        pids = json.loads(handles.read_text())
        alive = [p for p in pids if _pid_alive(p) and p != os.getpid()]
        if alive != pids:
            handles.write_text(json.dumps(alive))
    except (OSError, ValueError):
        pass  # no file yet, or unreadable: pgserver starts a new one


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


class EmbeddedServer:
    """The embedded server this process started (or shares with another daemon on DATA_DIR)."""

    def __init__(self, config: Config) -> None:
        self.pgdata = pgdata(config)
        self.how = data_dir(config)[1]
        self._server: Any = None

    def start(self) -> str:
        """Create the cluster if needed, start it if it is not running; returns its DSN."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if self.pgdata.exists():
            _prune_handles(self.pgdata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver  # type: ignore[attr-defined,unused-ignore]  # embedded mode only

            logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates each pg_ctl
            try:
                self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
            except subprocess.CalledProcessError as exc:
                raise DatabaseUnavailable(self._explain(exc)) from exc
        uri: str = self._server.get_uri()
        return uri

    def _explain(self, exc: subprocess.CalledProcessError) -> str:
        output = exc.stderr if isinstance(exc.stderr, str) else ""
        detail = output.strip() or str(exc)
        if os.geteuid() == 0 and "useradd" in str(exc.cmd):
            return (f"running as root, the embedded PostgreSQL must run as the OS user "
                    f"{OS_USER!r} (PostgreSQL refuses root), and it could not be created: "
                    f"{detail}. Create it (`useradd {OS_USER}`), run as another user, or set "
                    "DATABASE_URL")
        return f"cannot start the embedded PostgreSQL in {self.pgdata} ({self.how}): {detail}"

    def alive(self) -> bool:
        """Is our server up and ready?"""
        return running_uri(self.pgdata) is not None

    def restart(self) -> str:
        """Start the server again after it died; returns its DSN."""
        assert self._server is not None
        with self._server._lock:  # pgserver's inter-process lock: one starter at a time
            self._server.ensure_postgres_running()
        uri: str = self._server.get_uri()
        return uri

    def stop(self) -> None:
        """Let go of the server: the last daemon using it stops it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
