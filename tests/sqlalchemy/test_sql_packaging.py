"""The built wheel works on its own: installed (not editable) into a fresh virtual environment, it creates a
database, so migrations or templates missing from the wheel fail here.

The fresh environment sees the test environment's site-packages through a ``.pth`` file, so that
SQLAlchemy, Alembic and ebonite-core need not be downloaded; the test checks that ``ebonite_sqlalchemy``
itself is imported from the fresh environment, not from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

from wheel_environment import build_wheel, fresh_environment

PLUGIN_SOURCE = Path(__file__).resolve().parents[2] / "plugins" / "ebonite-sqlalchemy"

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


def test_the_wheel_works_installed_in_a_fresh_environment(tmp_path: Path) -> None:
    wheel = build_wheel(PLUGIN_SOURCE, tmp_path / "dist")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "ebonite_sqlalchemy/plugin.py",
        "ebonite_sqlalchemy/py.typed",
        "ebonite_sqlalchemy/migrations/env.py",
        "ebonite_sqlalchemy/migrations/script.py.mako",
        "ebonite_sqlalchemy/migrations/versions/0001_initial.py",
        "ebonite_sqlalchemy/migrations/versions/0002_creation_order_indexes.py",
        "ebonite_sqlalchemy/migrations/versions/0003_tags_aliases_params.py",
        "ebonite_sqlalchemy/dialects.py",
        "ebonite_sqlalchemy/search.py",
    ):
        assert required in shipped, f"{required} is missing from {wheel.name}"
    entry_points = next(name for name in shipped if name.endswith(".dist-info/entry_points.txt"))
    assert "sqlalchemy = ebonite_sqlalchemy.plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()

    environment = tmp_path / "venv"
    python = fresh_environment(wheel, environment)
    result = subprocess.run(
        [str(python), "-c", FRESH_SCRIPT, f"sqlite:///{tmp_path / 'registry.db'}", str(tmp_path / "artifacts")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: nothing importable from the working directory
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("package", "repository class", "migrations"):
        assert Path(report[key]).resolve().is_relative_to(environment.resolve()), (key, report[key])
    assert report["revision"] == report["head"] == "0004"
    assert report["prediction"] == [8.0]
    assert report["found"] == ["model"]
