"""Installed from its sdist (not editable) into a fresh virtual environment, the plugin creates a database at
the newest revision and pushes, finds and loads a model: migrations or templates missing from the sdist or the
wheel fail here (see ``tests/distributions.py`` for the environment).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

FRESH_SCRIPT = """
import json, sys
from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel
import ebonite_sqlalchemy, ebonite_sqlalchemy.migrate as migrate

ebnt = Ebonite.custom_client(metadata="sqlalchemy", artifact="local",
                             meta_kwargs={"db_uri": sys.argv[1]}, artifact_kwargs={"path": sys.argv[2]})
task = ebnt.get_or_create_task("project", "task")
task.create_and_push_model(ScaleModel(), [1.0], "model", tags={"stage": "candidate"}, params={"accuracy": 0.9})
print(json.dumps({
    "package": ebonite_sqlalchemy.__file__,
    "repository class": sys.modules[type(ebnt.meta_repo).__module__].__file__,
    "migrations": str(migrate.script_directory().dir),
    "revision": ebnt.meta_repo.revision,
    "head": migrate.head_revision(),
    "prediction": ebnt.get_model("model", "task", "project").predict([4.0]),
    "found": [m.name for m in ebnt.search_models(tags={"stage": "candidate"}, params={"accuracy": (">", 0.5)})],
}))
"""


def test_installed_from_its_sdist_it_pushes_and_loads(sdist_environment: Path, tmp_path: Path) -> None:
    environment = sdist_environment.parents[1]
    result = subprocess.run(
        [
            str(sdist_environment),
            "-c",
            FRESH_SCRIPT,
            f"sqlite:///{tmp_path / 'registry.db'}",
            str(tmp_path / "artifacts"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: nothing importable from the working directory
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("package", "repository class", "migrations"):
        assert Path(report[key]).resolve().is_relative_to(environment.resolve()), (key, report[key])
    assert report["revision"] == report["head"] == "0005"
    assert report["prediction"] == [8.0]
    assert report["found"] == ["model"]
