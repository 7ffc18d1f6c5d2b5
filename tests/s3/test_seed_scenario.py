"""The seed's "Persisting Models" scenario with S3 artifacts, across processes.

One process trains a scikit-learn model and pushes it; another, which shares nothing with it but the
metadata store (a local file, or the sqlalchemy backend on SQLite and on PostgreSQL: the team set-up) and
the bucket, finds it by name, loads it and predicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sql_servers
from s3_servers import Location, child_environment
from services import service_unavailable

from ebonite_core.repository import KEY_MARKER

COMMON = """
import json, sys
import pandas as pd
from ebonite_core import Ebonite

metadata, meta_kwargs, artifact_kwargs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ebnt = Ebonite.custom_client(metadata, "s3", meta_kwargs=meta_kwargs, artifact_kwargs=artifact_kwargs)
"""

PUSH = """
from sklearn.linear_model import LinearRegression

data = pd.DataFrame({"rooms": [1.0, 2.0, 3.0, 4.0, 5.0], "floor": [0.0, 1.0, 0.0, 1.0, 0.0]})
reg = LinearRegression().fit(data, 2 * data["rooms"] + 3 * data["floor"] + 1)
task = ebnt.get_or_create_task("my_project", "regression_is_my_profession")
model = task.create_and_push_model(reg, data, "mymodel")
files = [artifact.name for artifact in model.artifacts]
print(json.dumps({"artifact_key": model.artifact_key, "methods": sorted(model.methods), "files": files}))
"""

LOAD = """
model = ebnt.get_model("mymodel", "regression_is_my_profession", "my_project")
prediction = model.predict(pd.DataFrame({"rooms": [10.0, 0.0], "floor": [1.0, 0.0]}))
print(json.dumps({"artifact_key": model.artifact_key, "prediction": [round(float(x), 6) for x in prediction]}))
"""


def _run(script: str, *arguments: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(COMMON) + textwrap.dedent(script), *arguments],
        capture_output=True,
        text=True,
        env=child_environment(),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def postgresql_server() -> Iterator[sql_servers.Server]:
    try:
        server = sql_servers.start_server("postgresql")
    except sql_servers.ServerUnavailable as err:
        service_unavailable(f"PostgreSQL cannot be started: {err}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["local", "sqlite", "postgresql"])
def metadata(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, str]]:
    if request.param == "local":
        return "local", {"path": str(tmp_path / "metadata.json")}
    if request.param == "sqlite":
        return "sqlalchemy", {"db_uri": f"sqlite:///{tmp_path / 'registry.db'}"}
    return "sqlalchemy", {"db_uri": request.getfixturevalue("postgresql_server").create_database("seed")}


# The team registry the mission describes (SQL on a server, S3) and the seed page's local metadata with S3 on
# the other server: the other pairs add nothing that the contracts do not check on each backend.
@pytest.mark.parametrize(("s3_server", "metadata"), [("seaweedfs", "postgresql"), ("moto", "local")], indirect=True)
def test_push_in_one_process_load_and_predict_in_another(
    location: Location, metadata: tuple[str, dict[str, str]]
) -> None:
    arguments = (
        metadata[0],
        json.dumps(metadata[1]),
        json.dumps({"bucket_name": location.bucket, "endpoint": location.server.endpoint, "prefix": location.prefix}),
    )
    pushed = _run(PUSH, *arguments)
    assert "predict" in pushed["methods"]
    # model.pkl with the core alone, model.skops where ebonite-skops is installed (as in the test environment)
    assert pushed["files"] in (["model.pkl"], ["model.skops"])
    key = f"{location.prefix}{pushed['artifact_key']}"
    assert location.object_keys() == [f"{key}/{KEY_MARKER}", f"{key}/{pushed['files'][0]}"]
    loaded = _run(LOAD, *arguments)
    assert loaded["artifact_key"] == pushed["artifact_key"]
    assert loaded["prediction"] == [24.0, 1.0]
