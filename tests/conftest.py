"""Session fixtures shared by every test directory: ``built_distributions`` and ``sdist_environment`` build
every distribution and install the sdists once per session, for the packaging tests of the core and of each
plugin (see ``distributions.py``). What the tests need of the machine (servers, mounts) is in ``services.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from distributions import Distribution, build_all, install_sdists


@pytest.fixture(scope="session")
def built_distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Distribution]:
    """The sdist and wheel of the core and of every ``plugins/*`` directory, built once per session."""
    return build_all(tmp_path_factory.mktemp("distributions"))


@pytest.fixture(scope="session")
def sdist_environment(built_distributions: dict[str, Distribution], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of one fresh virtual environment where every sdist is installed (see ``distributions.py``)."""
    sdists = [distribution.sdist for distribution in built_distributions.values()]
    return install_sdists(sdists, tmp_path_factory.mktemp("sdist-environment") / "venv")
