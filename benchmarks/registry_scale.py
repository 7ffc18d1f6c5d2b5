"""Push N tiny scikit-learn models into one task, then get + load + predict one of them.

Prints one JSON line: milliseconds per push (create + push, as a user's loop does) over the first and the
last 10 % of the pushes, and the median of repeated get + load + predict of one model with the same client.

    .venv/bin/python benchmarks/registry_scale.py local 1000
    .venv/bin/python benchmarks/registry_scale.py sqlite 10000
    .venv/bin/python benchmarks/registry_scale.py postgresql 1000 --db-uri postgresql+psycopg://...

Backends: ``local`` (the default, fsync on), ``local-nofsync`` (``durable=False``), ``sqlite`` (the
sqlalchemy metadata repository on a SQLite file, local artifacts), ``postgresql`` (needs ``--db-uri``;
``run_all.py`` starts a throwaway server). ``mlflow_scale.py`` does the same job with MLflow.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

from tiny_model import SAMPLE, print_figures, train_tiny_model

from ebonite_core import Ebonite, LocalArtifactRepository

LOADS = 50


def client(backend: str, directory: Path, db_uri: str | None) -> Ebonite:
    if backend in ("local", "local-nofsync"):
        return Ebonite.local(directory / "store", durable=backend == "local")
    if backend == "sqlite":
        db_uri = f"sqlite:///{directory / 'registry.db'}"
    elif db_uri is None:
        raise SystemExit(f"{backend} needs --db-uri")
    return Ebonite.custom_client(
        "sqlalchemy", LocalArtifactRepository(directory / "artifacts"), meta_kwargs={"db_uri": db_uri}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend", choices=["local", "local-nofsync", "sqlite", "postgresql"])
    parser.add_argument("pushes", type=int)
    parser.add_argument("--db-uri")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the benchmark's own module belongs to no distribution
    model = train_tiny_model()
    with tempfile.TemporaryDirectory(prefix="ebonite-bench-") as directory:
        tempfile.tempdir = directory  # keep staging files off a crowded /tmp
        ebnt = client(args.backend, Path(directory), args.db_uri)
        task = ebnt.get_or_create_task("benchmark", "tiny")
        timings = []
        for index in range(args.pushes):
            started = time.perf_counter()
            task.create_and_push_model(model, SAMPLE, f"model-{index:05d}")
            timings.append(time.perf_counter() - started)
        loads = []
        for _ in range(LOADS):
            started = time.perf_counter()
            ebnt.get_model("model-00000", task).predict(SAMPLE)
            loads.append(time.perf_counter() - started)
        ebnt.close()
    print_figures(args.backend, timings, loads)


if __name__ == "__main__":
    sys.exit(main())
