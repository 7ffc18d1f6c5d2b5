"""Shared test helpers.

Tests that need a server (PostgreSQL, MariaDB, S3) call :func:`service_unavailable` when it cannot be
started: the test is skipped with the reason, except when ``EBONITE_REQUIRE_SERVICES=1`` (set by
``.ci/run``), where the run fails instead.

``built_distributions`` and ``sdist_environment`` build every distribution and install the sdists once per
session, for the packaging tests of the core and of each plugin (see ``distributions.py``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from distributions import Distribution, build_all, install_sdists

REQUIRE_SERVICES = os.environ.get("EBONITE_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Skip (or, under EBONITE_REQUIRE_SERVICES=1, fail) the current test because a service is missing."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (EBONITE_REQUIRE_SERVICES=1: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """``read_only_view(directory)``: the directory bind-mounted read-only under ``tmp_path`` (a store baked into
    an image, a shared read-only volume): every write there fails with EROFS, whoever the writer is. Needs
    root, as the tests run; elsewhere the test is skipped (or fails under ``EBONITE_REQUIRE_SERVICES=1``)."""
    mounted: list[Path] = []

    def mount(directory: Path) -> Path:
        target = tmp_path / f"read-only-{len(mounted)}"
        target.mkdir()
        for command in (["mount", "--bind"], ["mount", "-o", "remount,bind,ro"]):
            source = [str(directory)] if command[1] == "--bind" else []
            result = subprocess.run([*command, *source, str(target)], capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                service_unavailable(f"cannot mount a read-only view (root is needed): {result.stderr.strip()}")
            if command[1] == "--bind":
                mounted.append(target)  # unmounted after the test, whatever happens next
        return target

    yield mount
    for target in reversed(mounted):
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(target)], check=True, capture_output=True)


@pytest.fixture(scope="session")
def built_distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Distribution]:
    """The sdist and wheel of the core and of every ``plugins/*`` directory, built once per session."""
    return build_all(tmp_path_factory.mktemp("distributions"))


@pytest.fixture(scope="session")
def sdist_environment(built_distributions: dict[str, Distribution], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of one fresh virtual environment where every sdist is installed (see ``distributions.py``)."""
    sdists = [distribution.sdist for distribution in built_distributions.values()]
    return install_sdists(sdists, tmp_path_factory.mktemp("sdist-environment") / "venv")
