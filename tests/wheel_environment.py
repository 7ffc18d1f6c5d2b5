"""A project's wheel, built from a copy of its sources and installed (not editable) into a fresh venv.

The packaging tests of the core and of each plugin use it, so that a file missing from a wheel fails the
suite. The fresh environment sees this test environment's site-packages through a ``.pth`` file (processed
with ``site.addsitedir``, so the editable installs' own ``.pth`` files work too), so that dependencies need
not be downloaded; the project itself comes first on its path, from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def build_wheel(project: Path, destination: Path) -> Path:
    """Build ``project``'s wheel into ``destination`` and return its path."""
    # From a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = destination / f"{project.name}-source"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(source),
            "-w",
            str(destination),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = destination.glob("*.whl")
    return wheel


def fresh_environment(wheel: Path, directory: Path) -> Path:
    """A new virtual environment in ``directory`` with ``wheel`` installed; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True, capture_output=True)
    python = directory / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shared = sysconfig.get_path("purelib")
    (Path(site_packages) / "zz_test_environment.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    return python
