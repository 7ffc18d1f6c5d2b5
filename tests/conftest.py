"""Session fixtures shared by every test directory: ``built_distributions`` and ``sdist_environment`` build
every distribution and install the sdists once per session, for the packaging tests of the core and of each
plugin (see ``distributions.py``). What the tests need of the machine (servers, mounts) is in ``services.py``.

The suite runs on two pytest-xdist workers (``-n 2 --dist loadgroup`` in ``pyproject.toml``); each worker has
its own session, so its own servers, on ports and in directories of its own. Tests that share a fixture too
costly to build twice are put in one ``xdist_group`` here, which one worker runs (see ``ONE_WORKER``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from distributions import Distribution, build_all, install_sdists

# Fixture name -> the xdist group of every test that uses it: building every distribution and installing the
# sdists is the suite's costliest setup, the UI's seeded site and its Chromium come next. A test using a
# module-scoped fixture (a server of tests/server, the README's hosts) goes with the rest of its module. The
# session servers (moto, SeaweedFS, PostgreSQL, MariaDB, the fsspec servers) start in about a second each:
# each worker starts its own.
ONE_WORKER = {
    "built_distributions": "distributions",
    "sdist_environment": "distributions",
    "site": "ui",
    "browser": "ui",
}
MODULE_SCOPED = {"local_server", "moto", "sql_s3_server", "world", "operator", "ebonite_ui", "example_hosts"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which turns each item's xdist_group into its work unit
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        group = next((ONE_WORKER[name] for name in fixtures if name in ONE_WORKER), None)
        if group is None and MODULE_SCOPED.intersection(fixtures):
            group = item.nodeid.partition("::")[0]  # the module: its module-scoped servers start once
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def built_distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Distribution]:
    """The sdist and wheel of the core and of every ``plugins/*`` directory, built once per session."""
    return build_all(tmp_path_factory.mktemp("distributions"))


@pytest.fixture(scope="session")
def sdist_environment(built_distributions: dict[str, Distribution], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of one fresh virtual environment where every sdist is installed (see ``distributions.py``)."""
    sdists = [distribution.sdist for distribution in built_distributions.values()]
    return install_sdists(sdists, tmp_path_factory.mktemp("sdist-environment") / "venv")
