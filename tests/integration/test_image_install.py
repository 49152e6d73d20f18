"""Does what the Dockerfile's builder stage does: a fresh venv, `pip install .`, the CLI runs."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


def _missing_inputs() -> str | None:
    """Why `pip install .` cannot work yet, or None when everything it needs exists."""
    if not PYPROJECT.exists():
        return "pyproject.toml not written yet"
    project = tomllib.loads(PYPROJECT.read_text()).get("project", {})
    readme = project.get("readme")
    if isinstance(readme, str) and not (ROOT / readme).exists():
        return f"pyproject.toml names readme {readme}, which does not exist yet"
    target = project.get("scripts", {}).get("supervisor", "")
    module = target.partition(":")[0]
    if not module:
        return "pyproject.toml declares no `supervisor` console script yet"
    base = ROOT.joinpath(*module.split("."))
    if not (base.with_suffix(".py").exists() or (base / "__init__.py").exists()):
        return f"console script module {module} not written yet"
    return None


def _build_context(dest: Path) -> Path:
    """Copy the repo as `docker build` would see it: everything .dockerignore lets through."""
    ignore_file = ROOT / ".dockerignore"
    lines = ignore_file.read_text().splitlines() if ignore_file.exists() else []
    patterns = [
        line.strip().removeprefix("**/")
        for line in lines
        if line.strip() and not line.startswith("#")
    ]

    def ignored(_folder: str, names: list[str]) -> set[str]:
        return {n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)}

    # Copying also keeps setuptools' build/ and *.egg-info out of the shared work tree.
    shutil.copytree(ROOT, dest, ignore=ignored, symlinks=True)
    return dest


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", NO_COLOR="1", COLUMNS="200")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(900)
def test_fresh_venv_install_provides_cli(tmp_path: Path) -> None:
    reason = _missing_inputs()
    if reason:
        pytest.skip(reason)
    source = _build_context(tmp_path / "src")
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 120)
    assert made.returncode == 0, made.stderr
    # pip's own cache stays on: the same install as the image, only faster on reruns.
    installed = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", str(source)], tmp_path, 840
    )
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]
    helped = _run([str(venv / "bin" / "supervisor"), "--help"], tmp_path, 60)
    assert helped.returncode == 0, helped.stdout + helped.stderr
    assert re.search(r"\brun\b", helped.stdout), helped.stdout
