"""Safe formats end to end: a real model per framework pushed here, loaded in a fresh process that refuses
code-running formats (``EBONITE_ALLOW_PICKLE=0``), through the local store and through SQLite + S3 (moto).

The loading process is the python of ``sdist_environment``: the four serializer plugins (ebonite_skops,
ebonite_xgboost, ebonite_lightgbm, ebonite_torch) are installed there from their sdists, not editable
(see ``tests/distributions.py``), and found through their entry points.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pytest
import xgboost
from ebonite_torch.examples import MLP
from s3_servers import MotoServer, child_environment, new_bucket_name
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ebonite_core import Ebonite, UnsafeModelError
from ebonite_core.testing import ScaleModel

# The inputs, built the same way in both processes (fixed seeds).
INPUTS = """
import numpy as np, pandas as pd, torch

rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])
torch.manual_seed(0)
inputs = {"skops": frame, "xgboost": frame.to_numpy(), "lightgbm": frame, "torch": torch.randn(5, 3)}
"""

# Loads every model of every store given in argv[1] and prints {store: {name: [serializer, predictions]}} and
# the file of each serializer's module.
LOAD = """
import json, sys
from ebonite_core import Ebonite
from ebonite_core.plugins import resolve

result = {}
for store, config in json.loads(sys.argv[1]).items():
    task = Ebonite.from_config(config).get_task("safe", "models")
    result[store] = {}
    for name, data in inputs.items():
        model = Ebonite.from_config(config).get_model(name, task)
        output = model.predict(data) if name != "torch" else model(data).detach()
        result[store][name] = [model.serializer, np.asarray(output).round(6).tolist()]
modules = {name: sys.modules[resolve("serializer", name).__module__].__file__ for name in inputs}
print(json.dumps({"result": result, "modules": modules}))
"""


def _models(inputs: dict[str, Any]) -> dict[str, Any]:
    frame = inputs["skops"]
    labels = (frame["a"] > 0).to_numpy().astype(int)
    return {
        "skops": make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, labels),
        "xgboost": xgboost.XGBClassifier(n_estimators=3, max_depth=2).fit(frame.to_numpy(), labels),
        "lightgbm": lightgbm.LGBMRegressor(n_estimators=3, num_leaves=4, min_child_samples=2, verbose=-1).fit(
            frame, frame["a"]
        ),
        "torch": MLP(inputs=3, width=4, outputs=2).eval(),
    }


@pytest.fixture
def configs(tmp_path: Path, moto_server: MotoServer) -> dict[str, dict[str, Any]]:
    bucket = new_bucket_name()
    moto_server.client().create_bucket(Bucket=bucket)
    return {
        "local": {
            "metadata": {"type": "local", "path": str(tmp_path / "metadata.json")},
            "artifact": {"type": "local", "path": str(tmp_path / "artifacts")},
        },
        "sqlite+s3": {
            "metadata": {"type": "sqlalchemy", "db_uri": f"sqlite:///{tmp_path / 'registry.db'}"},
            "artifact": {"type": "s3", "bucket_name": bucket, "endpoint": moto_server.endpoint},
        },
    }


def test_each_framework_loads_in_a_fresh_process_that_refuses_pickle(
    configs: dict[str, dict[str, Any]], sdist_environment: Path
) -> None:
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(INPUTS), namespace)
    inputs = namespace["inputs"]
    expected = {}
    for store, config in configs.items():
        task = Ebonite.from_config(config).get_or_create_task("safe", "models")
        expected[store] = {}
        for name, model in _models(inputs).items():
            pushed = task.create_and_push_model(model, inputs[name], name)
            assert pushed.format["safe"] is True
            output = model.predict(inputs[name]) if name != "torch" else model(inputs[name]).detach()
            expected[store][name] = [name, np.asarray(output).round(6).tolist()]
    done = subprocess.run(
        [str(sdist_environment), "-c", textwrap.dedent(INPUTS) + textwrap.dedent(LOAD), json.dumps(configs)],
        capture_output=True,
        text=True,
        env={**child_environment(), "EBONITE_ALLOW_PICKLE": "0"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["result"] == expected
    for name, module_file in report["modules"].items():
        assert f"ebonite_{name}/serializer.py" in module_file, module_file
        assert Path(module_file).is_relative_to(sdist_environment.parents[1]), f"{module_file} is not from its sdist"
    # A pickled model in the same stores is refused there, naming the model and the format.
    for config in configs.values():
        Ebonite.from_config(config).get_or_create_task("safe", "models").create_and_push_model(
            ScaleModel(), [1.0], "pickled"
        )
        with pytest.raises(UnsafeModelError, match=r"'pickled'.*'pickle'"):
            Ebonite.from_config({**config, "allow_pickle": False}).get_model("pickled", "models", "safe").load()
