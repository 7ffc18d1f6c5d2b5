"""Push and load one scikit-learn pipeline with skops and with pickle through ebonite, and with MLflow's
default (skops) path, in the same run.

The pipeline (a scaler and a 100-tree random forest on 5000 x 20 features, fixed seeds) is built the same way
in every process. Ebonite: ``create_model`` + ``push_model`` into a local store, then ``get_model`` +
``load`` with a new client (the skops model with ``allow_pickle=False``). MLflow (its own Python, given with
``--mlflow-python``): ``mlflow.sklearn.save_model`` with its default serialization format (skops outside
Databricks since MLflow 3), pip requirements and skops's untrusted types given (so that it infers neither),
then ``mlflow.sklearn.load_model``. Medians of ``--rounds`` runs; ratios against the pickle figures of this run.

    .venv/bin/python benchmarks/safe_sklearn.py --mlflow-python .bench-mlflow/bin/python
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any


def pipeline() -> tuple[Any, Any]:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    features = rng.normal(size=(5000, 20))
    labels = (features[:, 0] + features[:, 1] ** 2 > 1).astype(int)
    forest = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0, n_jobs=1)
    return make_pipeline(StandardScaler(), forest).fit(features, labels), features[:100]


def ebonite_rounds(serializer: str, rounds: int) -> dict[str, Any]:
    from ebonite_core import Ebonite, create_model

    model, sample = pipeline()
    pushes, loads = [], []
    with tempfile.TemporaryDirectory(prefix="ebonite-bench-") as tmp:
        task = Ebonite.local(tmp).get_or_create_task("bench", "sklearn")
        for index in range(rounds):
            started = time.perf_counter()
            pushed = task.push_model(create_model(model, sample, f"m{index}", serializer=serializer))
            pushes.append(time.perf_counter() - started)
            started = time.perf_counter()
            loaded = Ebonite.local(tmp, allow_pickle=serializer == "pickle").get_model(pushed.name, task).load()
            loads.append(time.perf_counter() - started)
            assert (loaded.object.predict(sample) == model.predict(sample)).all()
        size = sum(artifact.size for artifact in pushed.artifacts)
    return {"push": statistics.median(pushes), "load": statistics.median(loads), "bytes": size}


def mlflow_rounds(rounds: int) -> dict[str, Any]:
    import mlflow.sklearn
    import skops.io

    model, sample = pipeline()
    form = mlflow.sklearn._get_default_serialization_format()
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))  # what MLflow needs told at save
    pushes, loads = [], []
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        for index in range(rounds):
            path = Path(tmp) / f"m{index}"
            started = time.perf_counter()
            mlflow.sklearn.save_model(
                model, str(path), pip_requirements=["scikit-learn", "skops"], skops_trusted_types=trusted
            )
            pushes.append(time.perf_counter() - started)
            started = time.perf_counter()
            loaded = mlflow.sklearn.load_model(str(path))
            loads.append(time.perf_counter() - started)
            assert (loaded.predict(sample) == model.predict(sample)).all()
        size = sum(file.stat().st_size for file in path.iterdir() if file.suffix in (".skops", ".pkl"))
    return {"push": statistics.median(pushes), "load": statistics.median(loads), "bytes": size, "format": form}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-python", help="a Python with mlflow, scikit-learn and skops installed")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--step", choices=["mlflow"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "mlflow":
        print(json.dumps(mlflow_rounds(args.rounds)))
        return
    rows = {name: ebonite_rounds(name, args.rounds) for name in ("skops", "pickle")}
    if args.mlflow_python:
        done = subprocess.run(
            [args.mlflow_python, __file__, "--step", "mlflow", "--rounds", str(args.rounds)],
            capture_output=True,
            text=True,
            env={"MLFLOW_DISABLE_TELEMETRY": "true", "PATH": "/usr/bin:/bin"},
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        mlflow = json.loads(done.stdout.strip().splitlines()[-1])
        rows[f"mlflow save_model ({mlflow.pop('format')})"] = mlflow
    base = rows["pickle"]
    print(f"StandardScaler + RandomForestClassifier(100 trees, depth 10) on 5000 x 20; median of {args.rounds} rounds")
    print(f"{'path':<34}{'file MiB':>9}{'push ms':>10}{'load ms':>10}{'push / pickle':>15}{'load / pickle':>15}")
    for name, row in rows.items():
        label = f"ebonite {name}" if not name.startswith("mlflow") else name
        print(
            f"{label:<34}{row['bytes'] / 2**20:>9.2f}{row['push'] * 1000:>10.1f}{row['load'] * 1000:>10.1f}"
            f"{row['push'] / base['push']:>15.2f}{row['load'] / base['load']:>15.2f}"
        )


if __name__ == "__main__":
    main()
