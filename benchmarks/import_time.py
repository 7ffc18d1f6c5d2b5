"""``import ebonite_core`` against ``import mlflow``: median wall time of a fresh interpreter over several runs,
minus the interpreter's own start-up, and the ``-X importtime`` cumulative figure of the top-level module.

    .venv/bin/python benchmarks/import_time.py [--core-python .bench-core/bin/python]
                                               [--mlflow-python .bench-mlflow/bin/python]

Measure the core as users install it (``--core-python``, a regular install whose bytecode pip compiled, as
`make bench` builds): in the development environment the editable install's finder imports ``pathlib`` at
start-up, which hides its cost, and ``PYTHONDONTWRITEBYTECODE`` makes every import compile the sources.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 15
# ``python -c`` puts the working directory first on sys.path: run from an empty one, so that the installed
# package is measured, not the source tree of the repository the benchmark runs from.
NEUTRAL_DIRECTORY = tempfile.mkdtemp(prefix="ebonite-import-time-")


def wall(python: str, code: str) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, capture_output=True, cwd=NEUTRAL_DIRECTORY)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def importtime(python: str, module: str) -> float:
    """Median of -X importtime's cumulative microseconds for the module itself, in milliseconds."""
    figures = []
    for _ in range(5):
        result = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            cwd=NEUTRAL_DIRECTORY,
        )
        line = [row for row in result.stderr.splitlines() if re.search(rf"\|\s*{re.escape(module)}$", row)][-1]
        figures.append(int(line.split("|")[1]) / 1000)
    return statistics.median(figures)


def measure(python: str, module: str) -> tuple[float, float]:
    python = os.path.abspath(python)  # not resolved: a virtual environment's python is a symbolic link
    bare = wall(python, "pass")
    return 1000 * (wall(python, f"import {module}") - bare), importtime(python, module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-python", help="a Python with mlflow installed")
    parser.add_argument("--core-python", default=sys.executable, help="a Python with ebonite-core installed")
    args = parser.parse_args()
    ours_wall, ours_importtime = measure(args.core_python, "ebonite_core")
    print(f"ebonite_core from {args.core_python}")
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
