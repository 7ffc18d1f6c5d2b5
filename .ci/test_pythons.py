#!/usr/bin/env python3
"""``make test-pythons``: the contract suites and the end-to-end tests on each other supported Python.

``make test`` runs everything on the machine's ``python3`` (3.11); this runs a subset on each Python named on
the command line (the Makefile's ``TEST_PYTHONS``: 3.10, 3.12, 3.13). For each one it finds the interpreter
(pyenv's, else ``pythonX.Y`` on the PATH), makes ``.venv-X.Y`` with the core, ebonite-s3 and ebonite-sqlalchemy
(editable, with their test extras) and the test plugins, from wheels only, so that a dependency publishing
no wheel for that Python is named at once rather than compiled from source, and runs ``SUITES`` there.
Heavy framework plugins (torch...) are left out: their wheels exist for few Pythons, and their tests would
not fit CI's time. Every Python runs even when one fails; the summary at the end says how each went, and
the exit status is 1 if any failed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = [".", "plugins/ebonite-s3", "plugins/ebonite-sqlalchemy"]
TEST_PLUGINS = [
    "tests/plugins/ebonite-dummy",
    "tests/plugins/ebonite-crashing",
    "examples/ebonite-example-backend[test]",
]
SUITES = [
    "tests/core/test_builtin_backends.py",
    "tests/s3/test_contract.py",
    "tests/sqlalchemy/test_sql_contracts.py",
    "tests/e2e/test_quickstart.py",
    "tests/e2e/test_packaging.py",  # the README's examples (tests/e2e/test_readme.py) run on python3 only
    "examples/ebonite-example-backend/tests",
]
# MariaDB and SeaweedFS run under make test only: the slowest servers to drive, through Python code (PyMySQL,
# boto3) that the PostgreSQL, SQLite and moto runs already exercise on each Python.
DESELECT = "not mariadb and not seaweedfs"


def find_python(version: str) -> Path | None:
    """The newest pyenv-installed ``version``, else ``pythonX.Y`` from the PATH, if it runs."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{version}.*/bin/python{version}"), key=lambda path: _patch_level(path.parts[-3]))
    found = shutil.which(f"python{version}")
    for candidate in [*reversed(candidates), *([Path(found)] if found else [])]:
        check = [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        if subprocess.run(check, capture_output=True, text=True).stdout.strip() == version:
            return candidate
    return None


def _patch_level(name: str) -> int:
    """13 for pyenv's ``3.10.13``; pre-releases (``3.13.0rc1``) and others sort first."""
    match = re.fullmatch(r"\d+\.\d+\.(\d+)", name)
    return int(match.group(1)) if match else -1


def install(version: str, python: Path) -> tuple[Path | None, str]:
    """``.venv-X.Y`` with everything the suites need; its python, or ``None`` and what went wrong."""
    environment = ROOT / f".venv-{version}"
    requirements = [f"-e {project}[test]" for project in PROJECTS] + TEST_PLUGINS
    projects = [*PROJECTS, *(plugin.partition("[")[0] for plugin in TEST_PLUGINS)]
    sources = [(ROOT / project / "pyproject.toml").read_bytes() for project in projects]
    stamp = hashlib.sha256(b"\0".join([" ".join(requirements).encode(), *sources])).hexdigest()
    stamp_file = environment / ".installed"
    if stamp_file.is_file() and stamp_file.read_text() == stamp:
        return environment / "bin" / "python", ""
    if not (environment / "bin" / "python").exists():
        subprocess.run([str(python), "-m", "venv", str(environment)], check=True)
    # The pip that venv bundles can be old (23.0 with 3.10.13), and it cannot resolve a local plugin's
    # dependency on the editable core.
    subprocess.run([str(environment / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    command = [str(environment / "bin" / "python"), "-m", "pip", "install", "-q", "--only-binary=:all:"]
    for requirement in requirements:
        command += requirement.split(" ")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr, flush=True)
        missing = sorted(set(re.findall(r"No matching distribution found for ([^\s;]+)", done.stderr)))
        if missing:
            return None, f"no wheel of {', '.join(missing)} for Python {version} (pip installs wheels only here)"
        refused = sorted(set(re.findall(r"Package '([^']+)' requires a different Python", done.stderr)))
        if refused:
            return None, f"{', '.join(refused)} do not support Python {version} (requires-python)"
        return None, "pip could not install the test dependencies (its output is above)"
    stamp_file.write_text(stamp)
    return environment / "bin" / "python", ""


def run_suites(version: str, python: Path) -> tuple[bool, str]:
    """Run the suites with ``python``, streaming pytest's output; (passed, pytest's closing line)."""
    environment = {**os.environ, "EBONITE_TEST_DISTRIBUTIONS": ",".join(_distribution_names())}
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", DESELECT, *SUITES]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        print(line, end="", flush=True)
        last = line.strip() or last
    return process.wait() == 0, last.strip("= ")


def _distribution_names() -> list[str]:
    """The distributions installed here: the end-to-end packaging tests build and install only these."""
    names = []
    for project in PROJECTS:
        text = (ROOT / project / "pyproject.toml").read_text()
        match = re.search(r'^name = "([^"]+)"', text, re.M)
        assert match is not None, project
        names.append(match.group(1))
    return names


def main(versions: list[str]) -> int:
    if not versions:
        print("usage: test-pythons VERSION... (e.g. 3.10 3.12 3.13)", file=sys.stderr)
        return 2
    results: list[tuple[str, bool, str]] = []
    for version in versions:
        print(f"\n===== Python {version} =====", flush=True)
        python = find_python(version)
        if python is None:
            results.append(
                (
                    version,
                    False,
                    f"Python {version} is not installed (looked in pyenv and for python{version} on "
                    f"the PATH): install it, or leave it out with make test-pythons TEST_PYTHONS='...'",
                )
            )
            continue
        environment_python, problem = install(version, python)
        if environment_python is None:
            results.append((version, False, problem))
            continue
        passed, summary = run_suites(version, environment_python)
        results.append((version, passed, f"{python}: {summary}"))
    print("\n===== make test-pythons: the contract suites and the end-to-end tests on each Python =====")
    for version, passed, summary in results:
        print(f"Python {version}: {'passed' if passed else 'FAILED'}: {summary}")
    return 0 if all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
