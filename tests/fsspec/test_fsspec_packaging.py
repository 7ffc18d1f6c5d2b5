"""Installed from its sdist (not editable) into a fresh virtual environment, ebonite-fsspec resolves ``fsspec``
by name there and a model goes to the FTP server and back (see ``tests/distributions.py``)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from fsspec_stores import Store

ROUND_TRIP = """
import json, sys
from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel

ebnt = Ebonite.custom_client(metadata="local", artifact="fsspec", meta_kwargs={"path": sys.argv[1]},
                             artifact_kwargs=json.loads(sys.argv[2]))
task = ebnt.get_or_create_task("project", "task")
task.create_and_push_model(ScaleModel(4.0), [1.0], "model")
import ebonite_fsspec
from importlib.metadata import distribution
print(json.dumps({
    "class": type(ebnt.artifact_repo).__module__ + "." + type(ebnt.artifact_repo).__qualname__,
    "prediction": ebnt.get_model("model", task).predict([1.0, 2.0]),
    "module_file": ebonite_fsspec.__file__,
    "editable": (distribution("ebonite-fsspec").read_text("direct_url.json") or "").find('"editable": true') >= 0,
}))
"""


def test_installed_from_its_sdist_it_pushes_and_loads(
    sdist_environment: Path, ftp_store: Store, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            str(sdist_environment),
            "-c",
            textwrap.dedent(ROUND_TRIP),
            str(tmp_path / "m.json"),
            json.dumps(ftp_store.artifact_kwargs),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository, whose ebonite_core/ would shadow the installed one
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["class"] == "ebonite_fsspec.repository.FsspecArtifactRepository"
    assert report["prediction"] == [4.0, 8.0]
    assert Path(report["module_file"]).is_relative_to(sdist_environment.parents[1])
    assert report["editable"] is False
