"""scripts/start installs only when pyproject.toml changed, so a complete .venv starts offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A stand-in interpreter: it records how it was called, and its pip fails as it would offline.
FAKE_PYTHON = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/../calls.log"
[ "$1 $2" = "-m pip" ] && [ -n "${OFFLINE:-}" ] && exit 1
if [ "$1 $2" = "-m pip" ]; then
    printf '#!/bin/sh\necho "supervisor $*"\n' > "$(dirname "$0")/supervisor"
    chmod +x "$(dirname "$0")/supervisor"
fi
exit 0
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "start", tmp_path / "scripts" / "start")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    return tmp_path


def _start(project: Path, *args: str, offline: bool = False) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **({"OFFLINE": "1"} if offline else {})}
    return subprocess.run([str(project / "scripts" / "start"), *args], env=env, text=True,
                          capture_output=True, timeout=30, check=False)


def _pip_calls(project: Path) -> int:
    log = project / ".venv" / "calls.log"
    return sum("-m pip" in line for line in log.read_text().splitlines()) if log.exists() else 0


def test_start_installs_once_then_only_when_pyproject_changes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _start(project, "--only", "api")
    assert first.returncode == 0, first.stderr
    assert _pip_calls(project) == 1
    again = _start(project, "--only", "api", offline=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "supervisor run --only api"
    assert _pip_calls(project) == 1  # nothing changed: no install, so offline is fine
    with (project / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    assert _start(project).returncode == 0
    assert _pip_calls(project) == 2
