"""The built wheel, installed (not editable) into a fresh virtual environment, runs the quickstart."""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_quickstart import check_store, run_quickstart
from wheel_environment import build_wheel, fresh_environment

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs_the_quickstart(tmp_path: Path) -> None:
    python = fresh_environment(build_wheel(ROOT, tmp_path / "wheels"), tmp_path / "venv")
    where = subprocess.run(
        [str(python), "-c", "import ebonite_core, ebonite_core.testing; print(ebonite_core.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository, whose ebonite_core/ would shadow the installed one
    ).stdout.strip()
    assert where.startswith(str(tmp_path / "venv")), where
    files = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.resources as r; print(r.files('ebonite_core').joinpath('py.typed').is_file())",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert files == "True"
    work = tmp_path / "work"
    work.mkdir()
    assert "same predictions: True" in run_quickstart(str(python), work)
    check_store(work)
