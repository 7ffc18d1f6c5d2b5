"""Helpers for the tests of the ``ebonite`` command: run the installed console script, check its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ebonite_core import Ebonite

EBONITE = str(Path(sys.executable).parent / "ebonite")


@dataclass
class Cli:
    """Runs the installed ``ebonite`` console script in ``cwd``, in a subprocess, as a user would."""

    cwd: Path
    env: dict[str, str]

    def __call__(
        self, *args: str | os.PathLike[str], input: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [EBONITE, *map(str, args)],
            cwd=self.cwd,
            env={**self.env, **env},
            input=input if input is not None else "",
            capture_output=True,
            text=True,
        )

    def json(self, *args: str | os.PathLike[str], **env: str) -> Any:
        result = self(*args, "--json", **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> None:
    """The error convention: the given status, nothing on stdout, one line on stderr, no traceback."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ebonite: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.stderr


def artifact_dir(ebnt: Ebonite, path: str) -> Path:
    project, task, model = path.split("/")
    found = ebnt.get_model(model, task, project)
    assert found is not None and found.artifact_key is not None
    return ebnt.artifact_repo.root / found.artifact_key
