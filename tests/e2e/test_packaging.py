"""Every distribution is publishable: ``python -m build`` makes its sdist and wheel, ``twine check`` accepts
them, they ship every file of their package, declare the Pythons ``make test-pythons`` tests, and the sdists
install into a fresh virtual environment where the quickstart pushes and loads a model.

Each plugin's push and load in that environment is tested in the plugin's own test directory
(``tests/s3/test_plugin.py``, ``tests/sqlalchemy/test_sql_packaging.py``); the last test here makes sure
every ``plugins/*`` directory has one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from distributions import ROOT, Distribution, project_directories, pyproject
from test_quickstart import check_store, run_quickstart

import ebonite_core

SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
WHERE_IMPORTED = (
    "import importlib, json, sys; print(json.dumps({n: importlib.import_module(n).__file__ for n in sys.argv[1:]}))"
)


def test_every_project_is_built(built_distributions: dict[str, Distribution]) -> None:
    assert sorted(d.source for d in built_distributions.values()) == sorted(project_directories())
    assert {"ebonite-core", "ebonite-s3", "ebonite-sqlalchemy"} <= set(built_distributions)


def test_twine_accepts_every_sdist_and_wheel(built_distributions: dict[str, Distribution]) -> None:
    files = [str(path) for d in built_distributions.values() for path in (d.sdist, d.wheel)]
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == len(files), done.stdout


def test_sdists_and_wheels_ship_every_file_of_their_package(built_distributions: dict[str, Distribution]) -> None:
    """Data files (py.typed, migration templates...) and the license text included: a file left out fails here."""
    for distribution in built_distributions.values():
        expected = distribution.package_files()
        assert f"{distribution.package}/py.typed" in expected, distribution.name
        sdist, wheel = set(distribution.sdist_files()), set(distribution.wheel_files())
        assert {"pyproject.toml", "README.md", "LICENSE"} <= sdist, distribution.name
        assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel), (
            f"no LICENSE in {distribution.wheel.name}"
        )
        assert [name for name in expected if name not in sdist] == [], f"missing from {distribution.sdist.name}"
        assert [name for name in expected if name not in wheel] == [], f"missing from {distribution.wheel.name}"


def test_every_distribution_declares_the_pythons_that_are_tested() -> None:
    """The classifiers name the Pythons the suites run on: ``make test`` on the machine's python3 (3.11), ``make
    test-pythons`` on the others."""
    tested = re.search(r"^TEST_PYTHONS \?= (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert tested is not None, "the Makefile names the Pythons make test-pythons uses"
    assert sorted([*tested.group(1).split(), "3.11"], key=lambda v: tuple(map(int, v.split(".")))) == SUPPORTED_PYTHONS
    for directory in project_directories():
        project = pyproject(directory)["project"]
        assert project["requires-python"] == f">={SUPPORTED_PYTHONS[0]}", directory
        declared = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if re.fullmatch(r".* :: 3\.\d+", c)]
        assert declared == SUPPORTED_PYTHONS, directory
        assert project.get("license") == "Apache-2.0" and project.get("readme") == "README.md", directory
        if directory != ROOT:
            assert any(dep.startswith("ebonite-core>=") for dep in project["dependencies"]), directory


def test_the_sdists_install_and_every_plugin_loads_from_them(
    sdist_environment: Path, built_distributions: dict[str, Distribution], tmp_path: Path
) -> None:
    environment = sdist_environment.parents[1]
    ebonite = environment / "bin" / "ebonite"
    version = subprocess.run([ebonite, "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert version.stdout.strip() == f"ebonite-core {ebonite_core.__version__}", version.stderr
    listed = subprocess.run([ebonite, "plugins", "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    plugins = {row["distribution"]: row for row in json.loads(listed.stdout)["plugins"]}
    where = subprocess.run(
        [
            str(sdist_environment),
            "-c",
            WHERE_IMPORTED,
            *(d.package for d in built_distributions.values()),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository, whose ebonite_core/ would shadow the installed one
    )
    assert where.returncode == 0, where.stderr
    for name, path in json.loads(where.stdout).items():
        assert Path(path).is_relative_to(environment), f"{name} comes from {path}, not the sdist"
    for name in built_distributions:
        if name != "ebonite-core":
            row = plugins.get(name)
            assert row is not None and row["status"] == "ok" and row["types"], (name, row)


def test_the_quickstart_pushes_and_loads_where_the_sdists_are_installed(
    sdist_environment: Path, tmp_path: Path
) -> None:
    assert "same predictions: True" in run_quickstart(str(sdist_environment), tmp_path)
    check_store(tmp_path)


def test_every_plugin_has_a_push_and_load_in_the_sdist_environment() -> None:
    """A new ``plugins/*`` directory needs a test of its own that uses ``sdist_environment`` to push and load."""
    tests = {path: path.read_text() for path in (ROOT / "tests").rglob("test_*.py")}
    for directory in project_directories()[1:]:
        package = pyproject(directory)["project"]["name"].replace("-", "_")
        users = [p for p, text in tests.items() if "sdist_environment" in text and package in text]
        assert users, f"no test pushes and loads with {package} installed from its sdist: add one under tests/"
