"""Fixtures for the tests of the ``ebonite`` command: the console script in a test directory, a real registry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_support import Cli

from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = {name: value for name, value in os.environ.items() if name != "EBONITE_CONFIG"}
    # A temporary directory of the test's own: `ebonite gc` also cleans the system's, which other processes share.
    (tmp_path / "system-tmp").mkdir()
    env["TMPDIR"] = str(tmp_path / "system-tmp")
    return Cli(tmp_path, env)


@pytest.fixture
def registry(tmp_path: Path) -> Ebonite:
    """``.ebonite`` in the test's directory: demo/iris/{scale, triple}, an empty demo/wine, other/t/small."""
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    iris = ebnt.get_or_create_task("demo", "iris")
    iris.create_and_push_model(ScaleModel(2.0), [1.0, 2.0], "scale", params={"factor": 2.0}, description="doubles")
    iris.create_and_push_model(ScaleModel(3.0, b"x" * 5000), [1.0, 2.0], "triple")
    ebnt.get_or_create_task("demo", "wine")
    ebnt.create_model(ScaleModel(0.5), [4.0], "small", project_name="other", task_name="t")
    return ebnt
