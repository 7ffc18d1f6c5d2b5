"""The job of registry_scale.py done with MLflow: log and register N tiny models, then load + predict one.

Runs in its own virtual environment (``make bench`` creates it): SQLite tracking and registry store, local
artifacts, pip requirements given so that MLflow spawns no subprocess, telemetry off. Prints one JSON line.

    .bench-mlflow/bin/python benchmarks/mlflow_scale.py 1000
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import warnings

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import mlflow
from tiny_model import SAMPLE, print_figures, train_tiny_model

LOADS = 50


def main() -> None:
    pushes = int(sys.argv[1])
    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    model = train_tiny_model()
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as directory:
        mlflow.set_tracking_uri(f"sqlite:///{directory}/mlflow.db")
        mlflow.set_registry_uri(f"sqlite:///{directory}/mlflow.db")
        experiment = mlflow.create_experiment("benchmark", artifact_location=f"file://{directory}/artifacts")
        mlflow.set_experiment(experiment_id=experiment)
        timings = []
        for _ in range(pushes):
            started = time.perf_counter()
            with mlflow.start_run(), contextlib.redirect_stdout(io.StringIO()):  # "Created version N" lines
                mlflow.sklearn.log_model(
                    model, name="model", registered_model_name="tiny", pip_requirements=["scikit-learn"]
                )
            timings.append(time.perf_counter() - started)
        loads = []
        for _ in range(LOADS):
            started = time.perf_counter()
            mlflow.sklearn.load_model("models:/tiny/1").predict(SAMPLE)
            loads.append(time.perf_counter() - started)
    print_figures("mlflow", timings, loads)


if __name__ == "__main__":
    main()
