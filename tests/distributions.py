"""Every distribution of this repository, built as it would be published, and one environment with their sdists.

The core and each ``plugins/*`` directory (found by globbing, so a new plugin is covered as soon as it exists)
are built with ``python -m build`` into an sdist and a wheel (the wheel built from the sdist, as ``build``
does), from a copy of their sources, without build isolation (nothing is downloaded). ``tests/conftest.py``
builds them once per session (``built_distributions``) and installs every sdist, not the wheels, into one
fresh virtual environment (``sdist_environment``): pip builds each sdist there, so a file missing from an
sdist fails the suite.

The fresh environment sees this test environment's site-packages through a ``.pth`` file (processed with
``site.addsitedir``, so the editable installs' own ``.pth`` files work too), so that dependencies need not be
downloaded; the distributions themselves come first on its path, from their sdists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
# Not sources of the distribution being built: environments, caches, build output, and at the top of the
# core's directory its plugins and everything else that is not shipped (a file the sdist needs is never there).
_NOT_SOURCES_AT_THE_TOP = shutil.ignore_patterns(".*", "*.egg-info", "build", "dist", "plugins", "tests", "benchmarks")
_NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.pyc")


def _ignored(directory: str, names: list[str]) -> set[str]:
    ignored = set(_NOT_SOURCES(directory, names))
    if (Path(directory) / "pyproject.toml").is_file():
        ignored |= set(_NOT_SOURCES_AT_THE_TOP(directory, names))
    return ignored


# ``make test-pythons`` installs only some plugins on the other Pythons and names them here (comma-separated).
ONLY_VARIABLE = "EBONITE_TEST_DISTRIBUTIONS"


def project_directories() -> list[Path]:
    """The core and every first-party plugin (each ``plugins/*`` directory with a ``pyproject.toml``), or
    those of them that ``$EBONITE_TEST_DISTRIBUTIONS`` names."""
    directories = [ROOT, *sorted(path.parent for path in ROOT.glob("plugins/*/pyproject.toml"))]
    only = {name.strip() for name in os.environ.get(ONLY_VARIABLE, "").split(",") if name.strip()}
    return [path for path in directories if not only or pyproject(path)["project"]["name"] in only]


def pyproject(directory: Path) -> dict:
    return tomllib.loads((directory / "pyproject.toml").read_text())


@dataclass
class Distribution:
    """One built distribution: where its sources are, its sdist and its wheel."""

    name: str
    source: Path
    sdist: Path
    wheel: Path

    @property
    def package(self) -> str:
        """The import package it ships (``ebonite-s3`` ships ``ebonite_s3``)."""
        return self.name.replace("-", "_")

    def sdist_files(self) -> list[str]:
        """File names inside the sdist, without its top directory."""
        with tarfile.open(self.sdist) as archive:
            return [member.name.partition("/")[2] for member in archive.getmembers() if member.isfile()]

    def wheel_files(self) -> list[str]:
        return zipfile.ZipFile(self.wheel).namelist()

    def package_files(self) -> list[str]:
        """Every file of the package in the source tree, relative to the project directory."""
        return sorted(
            path.relative_to(self.source).as_posix()
            for path in (self.source / self.package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        )


def build_all(destination: Path) -> dict[str, Distribution]:
    """Build an sdist and a wheel of every project into ``destination``, in parallel; keyed by name."""
    running = []
    for directory in project_directories():
        name = pyproject(directory)["project"]["name"]
        source = destination / "sources" / name
        shutil.copytree(directory, source, ignore=_ignored)  # build writes *.egg-info next to the sources
        output = destination / "dist" / name
        command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(output), str(source)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        running.append((name, directory, output, process))
    built = {}
    for name, directory, output, process in running:
        log, _ = process.communicate()
        if process.returncode != 0:
            raise AssertionError(f"python -m build failed for {name}:\n{log[-3000:]}")
        [sdist], [wheel] = output.glob("*.tar.gz"), output.glob("*.whl")
        built[name] = Distribution(name, directory, sdist, wheel)
    return built


def install_sdists(sdists: list[Path], directory: Path) -> Path:
    """A new virtual environment in ``directory`` with every sdist installed (built by pip); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True, capture_output=True)
    python = directory / "bin" / "python"
    shared = sysconfig.get_path("purelib")
    # pip builds each sdist with this environment's setuptools (PYTHONPATH: no build isolation, no download);
    # --ignore-installed: this environment's own (editable) installs of the same distributions are not the
    # fresh environment's to replace.
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    install += ["--no-build-isolation", "--ignore-installed", *map(str, sdists)]
    done = subprocess.run(install, capture_output=True, text=True, env={**_environment(), "PYTHONPATH": shared})
    if done.returncode != 0:
        raise AssertionError(f"pip could not install the sdists:\n{done.stdout}{done.stderr}")
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site_packages) / "zz_test_environment.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    return python


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
