"""The seed's "Persisting Models" scenario with local metadata and S3 artifacts, across processes.

One process trains a scikit-learn model and pushes it; another, which shares nothing with it but the
metadata file and the bucket, finds it by name, loads it and predicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from s3_servers import Location, child_environment

COMMON = """
import json, sys
import pandas as pd
from ebonite_core import Ebonite

ebnt = Ebonite.custom_client("local", "s3", meta_kwargs={"path": sys.argv[1]}, artifact_kwargs=json.loads(sys.argv[2]))
"""

PUSH = """
from sklearn.linear_model import LinearRegression

data = pd.DataFrame({"rooms": [1.0, 2.0, 3.0, 4.0, 5.0], "floor": [0.0, 1.0, 0.0, 1.0, 0.0]})
reg = LinearRegression().fit(data, 2 * data["rooms"] + 3 * data["floor"] + 1)
task = ebnt.get_or_create_task("my_project", "regression_is_my_profession")
model = task.create_and_push_model(reg, data, "mymodel")
print(json.dumps({"artifact_key": model.artifact_key, "methods": sorted(model.methods)}))
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


def test_push_in_one_process_load_and_predict_in_another(location: Location, tmp_path: Path) -> None:
    arguments = (
        str(tmp_path / "metadata.json"),
        json.dumps({"bucket_name": location.bucket, "endpoint": location.server.endpoint, "prefix": location.prefix}),
    )
    pushed = _run(PUSH, *arguments)
    assert "predict" in pushed["methods"]
    assert location.object_keys() == [f"{location.prefix}{pushed['artifact_key']}/model.pkl"]
    loaded = _run(LOAD, *arguments)
    assert loaded["artifact_key"] == pushed["artifact_key"]
    assert loaded["prediction"] == [24.0, 1.0]
