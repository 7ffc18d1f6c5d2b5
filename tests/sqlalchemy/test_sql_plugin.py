"""The ``sqlalchemy`` type is found through the installed entry point, and loading the plugin is cheap.

No test here imports ``ebonite_sqlalchemy``: the type must resolve from the entry point alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from ebonite_core import Ebonite
from ebonite_core.plugins import PluginRegistry

USER_SCRIPT = """
import json, sys
from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel

ebnt = Ebonite.custom_client(metadata="sqlalchemy", artifact="local",
                             meta_kwargs={"db_uri": sys.argv[1]}, artifact_kwargs={"path": sys.argv[2]})
task = ebnt.get_or_create_task("project", "task")
task.create_and_push_model(ScaleModel(3.0), [1.0], "model")
again = Ebonite.custom_client(metadata="sqlalchemy", artifact="local",
                              meta_kwargs={"db_uri": sys.argv[1]}, artifact_kwargs={"path": sys.argv[2]})
print(json.dumps({
    "class": type(ebnt.meta_repo).__module__ + "." + type(ebnt.meta_repo).__qualname__,
    "prediction": again.get_model("model", "task", "project").predict([2.0]),
}))
"""


def test_the_entry_point_is_declared() -> None:
    declared = {entry.name: entry.value for entry in entry_points(group="ebonite")}
    assert declared.get("sqlalchemy") == "ebonite_sqlalchemy.plugin"


def test_custom_client_resolves_sqlalchemy_in_a_fresh_process(tmp_path: Path) -> None:
    """What a user writes: a type name and a URL, no import of the plugin package."""
    db_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    result = subprocess.run(
        [sys.executable, "-c", USER_SCRIPT, db_uri, str(tmp_path / "artifacts")],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report == {"class": "ebonite_sqlalchemy.repository.SQLAlchemyMetaRepository", "prediction": [6.0]}
    assert (tmp_path / "registry.db").stat().st_size > 0


def test_custom_client_resolves_sqlalchemy_in_this_process(tmp_path: Path) -> None:
    ebnt = Ebonite.custom_client(
        metadata="sqlalchemy", artifact="local", meta_kwargs={"db_uri": f"sqlite:///{tmp_path / 'r.db'}"}
    )
    try:
        assert type(ebnt.meta_repo).type == "sqlalchemy"
        assert type(ebnt.meta_repo).__module__ == "ebonite_sqlalchemy.repository"
    finally:
        ebnt.close()


def test_a_fresh_registry_reports_the_plugin_and_its_type() -> None:
    registry = PluginRegistry()
    cls = registry.resolve("metadata", "sqlalchemy")
    assert cls.__name__ == "SQLAlchemyMetaRepository"
    info = next(info for info in registry.report() if info.name == "sqlalchemy")
    assert info.error is None
    assert info.distribution == "ebonite-sqlalchemy"
    assert info.types == {"command": ["db"], "metadata": ["sqlalchemy"]}


def test_importing_the_plugin_module_does_not_import_sqlalchemy() -> None:
    check = (
        "import sys, ebonite_core, ebonite_sqlalchemy.plugin, ebonite_sqlalchemy;"
        "from ebonite_core.plugins import PluginRegistry;"
        "registry = PluginRegistry(); registry.load_entry_points();"
        "assert registry.plugins['sqlalchemy'].error is None;"
        "assert 'db' in registry.commands();"  # every `ebonite` run loads the command classes
        "print(sorted(name for name in ('sqlalchemy', 'alembic', 'psycopg', 'pymysql') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
