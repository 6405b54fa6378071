"""symnet installs like any other package: the wheel built from the project holds its examples,
the explorer's script and its licence, and installed with its dependencies into a fresh
virtual environment (no access to this one's packages, nothing on PYTHONPATH) it runs
``symnet demo``.

Slow (about two minutes here: the dependencies, TensorFlow's CPU build among them, come from
the package index), and the only test that needs the index: CI has it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import symnet

ROOT = Path(__file__).resolve().parents[1]


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True,
                            **kwargs)
    assert result.returncode == 0, (argv, result.stdout[-3000:], result.stderr[-5000:])
    return result


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_environment_and_runs_the_demo(tmp_path):
    # build from a copy of what a clone holds, so that nothing is written into the project
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "symnet", source / "symnet",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source],
        timeout=600)
    (wheel,) = dist.glob("symnet-*.whl")
    assert wheel.name.startswith(f"symnet-{symnet.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {f"symnet/examples/{p.name}" for p in (ROOT / "symnet" / "examples").glob("*.keras")}
    assert bundled and bundled <= names
    assert {"symnet/report/explorer.js", "symnet/py.typed"} <= names
    info = f"symnet-{symnet.__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names and f"{info}/entry_points.txt" in names

    # a fresh environment: its own interpreter's packages only (about 2 GB: removed after)
    venv = tmp_path / "venv"
    try:
        _install_and_run_the_demo(venv, wheel, tmp_path)
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def _install_and_run_the_demo(venv: Path, wheel: Path, tmp_path: Path) -> None:
    run([sys.executable, "-m", "venv", venv], timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", wheel], timeout=1800)

    work = tmp_path / "work"  # not the project: `import symnet` must find the installed one
    work.mkdir()
    where = run([bin_dir / "python", "-c", "import symnet; print(symnet.__file__)"], cwd=work)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    version = run([bin_dir / "symnet", "--version"], cwd=work)
    assert version.stdout.strip() == f"symnet {symnet.__version__}"
    run([bin_dir / "symnet", "demo", "-o", "out"], cwd=work, timeout=900)
    written = sorted(p.name for p in (work / "out").iterdir())
    assert written == sorted(p.name for p in (ROOT / "reports").iterdir())
    assert all((work / "out" / name).stat().st_size > 500 for name in written)
    # the explorer's script came from the wheel's package data
    page = (work / "out" / "seed_regressor.explorer.html").read_text(encoding="utf-8")
    script = (ROOT / "symnet" / "report" / "explorer.js").read_text(encoding="utf-8")
    assert max(script.splitlines(), key=len).strip() in page
    # the hand calculation is symnet's own arithmetic: the same as the committed report's
    assert (work / "out" / "seed_regressor.txt").read_bytes() == (
        ROOT / "reports" / "seed_regressor.txt").read_bytes()
