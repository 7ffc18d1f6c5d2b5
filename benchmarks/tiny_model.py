"""The tiny scikit-learn model every registry benchmark pushes, and the line of figures the registry-scale
benchmarks print for run_all.py (importable by MLflow's venv too)."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

_rng = np.random.default_rng(0)
SAMPLE = pd.DataFrame({"a": _rng.normal(size=20), "b": _rng.normal(size=20)})


def train_tiny_model() -> LogisticRegression:
    return LogisticRegression().fit(SAMPLE, SAMPLE["a"] > 0)


def print_figures(backend: str, timings: list[float], loads: list[float]) -> None:
    """One JSON line: mean and median ms per push over the first and the last 10 % of ``timings`` (seconds,
    in push order), and the median ms of the ``loads``."""
    window = max(1, len(timings) // 10)
    figures = {
        "backend": backend,
        "pushes": len(timings),
        "first_ms": 1000 * statistics.mean(timings[:window]),
        "last_ms": 1000 * statistics.mean(timings[-window:]),
        "first_median_ms": 1000 * statistics.median(timings[:window]),
        "last_median_ms": 1000 * statistics.median(timings[-window:]),
        "load_ms": 1000 * statistics.median(loads),
    }
    print(json.dumps(figures))
