"""``import ebonite_core`` against ``import mlflow``: median wall time of a fresh interpreter over several runs,
minus the interpreter's own start-up, and the ``-X importtime`` cumulative figure of the top-level module.

    .venv/bin/python benchmarks/import_time.py [--mlflow-python .bench-mlflow/bin/python]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

RUNS = 15


def wall(python: str, code: str) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def importtime(python: str, module: str) -> float:
    """Median of -X importtime's cumulative microseconds for the module itself, in milliseconds."""
    figures = []
    for _ in range(5):
        result = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True)
        line = [row for row in result.stderr.splitlines() if re.search(rf"\|\s*{re.escape(module)}$", row)][-1]
        figures.append(int(line.split("|")[1]) / 1000)
    return statistics.median(figures)


def measure(python: str, module: str) -> tuple[float, float]:
    bare = wall(python, "pass")
    return 1000 * (wall(python, f"import {module}") - bare), importtime(python, module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-python", help="a Python with mlflow installed")
    args = parser.parse_args()
    ours_wall, ours_importtime = measure(sys.executable, "ebonite_core")
    print(
        f"import ebonite_core: {ours_wall:7.1f} ms wall (over bare start-up), {ours_importtime:7.1f} ms -X importtime"
    )
    if args.mlflow_python:
        env_wall, env_importtime = measure(args.mlflow_python, "mlflow")
        print(
            f"import mlflow:       {env_wall:7.1f} ms wall (over bare start-up), {env_importtime:7.1f} ms -X importtime"
        )
        print(
            f"ratio (mlflow / ebonite_core, -X importtime): {env_importtime / ours_importtime:.0f}x (goal >= 30x); "
            f"goal for ebonite_core: under 50 ms"
        )


if __name__ == "__main__":
    main()
