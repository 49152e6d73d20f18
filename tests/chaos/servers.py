"""Private servers a chaos test may stop and start: never the machine's shared ones."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl: PostgreSQL 15's, else the pgserver wheel's."""
    candidates = ["/usr/lib/postgresql/15/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    for candidate in candidates:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    try:
        import pgserver  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    wheel = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return wheel if (wheel / "initdb").exists() else None


class PrivateCluster:
    """A PostgreSQL cluster of the test's own: initdb in a temp dir, on a free port."""

    def __init__(self) -> None:
        found = _pg_bin()
        if found is None:
            raise RuntimeError("no initdb found (PostgreSQL 15 or the pgserver wheel)")
        self.bin = found
        # Its own dir, not pytest's tmp_path: that one is private to root, and the server may
        # run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="supervisor-chaos-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()
        # initdb and postgres refuse to run as root: run them as the postgres OS user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        """Create the cluster (trust auth, fsync off: it is thrown away after the test)."""
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                       "max_connections = 200\n")

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "pg.log"),
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Fast shutdown: open connections are terminated, like a restart in production."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def dsn(self, database: str = "postgres") -> str:
        """A DSN for a database of this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def cleanup(self) -> None:
        """Stop it if running and remove its files."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own on a free port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server binary")
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (on the same port after a stop) and wait until it listens."""
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Kill it: clients see their connections drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
