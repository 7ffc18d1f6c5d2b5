"""Quickstart: persist a scikit-learn model in a local store, then load it back in a second process.

Run it with ``make demo`` (or ``python examples/quickstart.py`` in an environment with ebonite-core,
pandas and scikit-learn). The store is ``.ebonite/`` in the working directory.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import ebonite_core
from ebonite_core import Ebonite

PROJECT, TASK, MODEL = "my_project", "regression_is_my_profession", "mymodel"


def make_data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(42)
    data = pd.DataFrame({"height": rng.normal(170, 10, 200), "weight": rng.normal(70, 15, 200)})
    target = (data["weight"] / (data["height"] / 100) ** 2 > 24).astype(int)
    return data, target


def train_and_push() -> list[int]:
    data, target = make_data()
    reg = LogisticRegression(max_iter=1000).fit(data, target)

    ebnt = Ebonite.local()
    task = ebnt.get_or_create_task(PROJECT, TASK)
    previous = ebnt.get_model(MODEL, task)
    if previous is not None:  # running the demo again replaces the model it pushed last time
        ebnt.delete_model(previous)
    model = ebonite_core.create_model(reg, data, MODEL, params={"max_iter": 1000})
    ebnt.push_model(model, task)
    print(f"pushed {PROJECT}/{TASK}/{model.name}: methods {sorted(model.methods)}, requirements {model.requirements}")
    print(f"metadata in {ebnt.meta_repo.path}, artifacts {[a.name for a in model.artifacts]} under .ebonite/artifacts/")
    return reg.predict(data.head(10)).tolist()


def load_and_predict() -> None:
    """Runs in a separate process: nothing but the store is shared with the one that trained the model."""
    data, _ = make_data()
    ebnt = Ebonite.local()
    model = ebnt.get_model(MODEL, TASK, PROJECT)
    print(json.dumps(model.predict(data.head(10)).tolist()))


def main() -> int:
    if sys.argv[1:] == ["load"]:
        load_and_predict()
        return 0
    expected = train_and_push()
    child = subprocess.run([sys.executable, __file__, "load"], capture_output=True, text=True, check=True)
    loaded = json.loads(child.stdout)
    print(f"original predictions:               {expected}")
    print(f"loaded in a separate process:       {loaded}")
    print(f"same predictions: {loaded == expected}")
    return 0 if loaded == expected else 1


if __name__ == "__main__":
    sys.exit(main())
