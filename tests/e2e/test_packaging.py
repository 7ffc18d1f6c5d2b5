"""The built wheel, installed (not editable) into a fresh virtual environment, runs the quickstart."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from test_quickstart import check_store, run_quickstart

ROOT = Path(__file__).resolve().parents[2]


def fresh_venv_with_wheel(tmp_path: Path, project: Path) -> Path:
    """A new venv holding the project's wheel; this test venv's packages are visible through a .pth file,
    so that dependencies need not be downloaded, but the project itself comes from the wheel."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(project), "-w", str(wheels)],
        check=True,
        capture_output=True,
    )
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site_packages / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    [wheel] = wheels.glob("*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    return python


def test_wheel_installs_and_runs_the_quickstart(tmp_path: Path) -> None:
    python = fresh_venv_with_wheel(tmp_path, ROOT)
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
