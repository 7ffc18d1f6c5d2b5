"""ebonite-s3 is found through its entry point, imports no driver until used, and works installed from its sdist.

The scripts run in subprocesses so that nothing this test process imported (the fixtures import
``ebonite_s3.repository``) can help them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import Location, child_environment

from ebonite_core.errors import UnknownBackendError
from ebonite_core.plugins import PluginRegistry

PLUGIN_DIRECTORY = Path(__file__).parents[2] / "plugins" / "ebonite-s3"

# Resolves "s3" by name only, pushes a model, loads it back, and reports where everything came from.
ROUND_TRIP = """
import json, sys
from pathlib import Path
from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel

before = "ebonite_s3" in sys.modules
ebnt = Ebonite.custom_client(metadata="local", artifact="s3", meta_kwargs={"path": sys.argv[1]},
                             artifact_kwargs=json.loads(sys.argv[2]))
task = ebnt.get_or_create_task("project", "task")
task.create_and_push_model(ScaleModel(4.0), [1.0], "model")
import ebonite_s3
from importlib.metadata import distribution
print(json.dumps({
    "imported_before": before,
    "class": type(ebnt.artifact_repo).__module__ + "." + type(ebnt.artifact_repo).__qualname__,
    "prediction": ebnt.get_model("model", task).predict([1.0, 2.0]),
    "module_file": ebonite_s3.__file__,
    "distribution": str(distribution("ebonite-s3").locate_file("")),
    "editable": (distribution("ebonite-s3").read_text("direct_url.json") or "").find('"editable": true') >= 0,
}))
"""


def _run(python: str | Path, script: str, *arguments: str, cwd: Path | None = None) -> dict[str, object]:
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script), *arguments],
        capture_output=True,
        text=True,
        env=child_environment(),
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _artifact_kwargs(location: Location) -> str:
    return json.dumps({"bucket_name": location.bucket, "endpoint": location.server.endpoint, "prefix": location.prefix})


def test_importing_the_plugin_module_imports_no_driver() -> None:
    report = _run(
        sys.executable,
        "import json, sys, ebonite_s3.plugin; print(json.dumps([m for m in ('boto3', 'botocore', 's3transfer') "
        "if m in sys.modules]))",
    )
    assert report == []


def test_the_entry_point_provides_s3() -> None:
    registry = PluginRegistry()
    assert registry.resolve("artifact", "s3") is S3ArtifactRepository
    plugin = registry.plugins["s3"]
    assert plugin.distribution == "ebonite-s3" and plugin.error is None


def test_without_the_plugin_the_error_says_what_to_install() -> None:
    with pytest.raises(UnknownBackendError, match="pip install ebonite-s3"):
        PluginRegistry(entry_points=lambda: []).resolve("artifact", "s3")


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
def test_custom_client_resolves_s3_by_name(location: Location, tmp_path: Path) -> None:
    report = _run(sys.executable, ROUND_TRIP, str(tmp_path / "metadata.json"), _artifact_kwargs(location))
    assert report["imported_before"] is False
    assert report["class"] == "ebonite_s3.repository.S3ArtifactRepository"
    assert report["prediction"] == [4.0, 8.0]


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
def test_installed_from_its_sdist_it_pushes_and_loads(
    sdist_environment: Path, location: Location, tmp_path: Path
) -> None:
    """Installed from its sdist (not editable) into a fresh virtual environment, ``s3`` resolves by name there
    and a model goes to moto's server and back (see ``tests/distributions.py``)."""
    environment = sdist_environment.parents[1]
    report = _run(
        sdist_environment, ROUND_TRIP, str(tmp_path / "metadata.json"), _artifact_kwargs(location), cwd=tmp_path
    )
    assert report["imported_before"] is False
    assert report["class"] == "ebonite_s3.repository.S3ArtifactRepository"
    assert report["prediction"] == [4.0, 8.0]
    assert Path(str(report["module_file"])).is_relative_to(environment)
    assert Path(str(report["distribution"])).is_relative_to(environment)
    assert report["editable"] is False
