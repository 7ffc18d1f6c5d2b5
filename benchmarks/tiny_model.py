"""The tiny scikit-learn model every registry benchmark pushes (importable by MLflow's venv too)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

_rng = np.random.default_rng(0)
SAMPLE = pd.DataFrame({"a": _rng.normal(size=20), "b": _rng.normal(size=20)})


def train_tiny_model() -> LogisticRegression:
    return LogisticRegression().fit(SAMPLE, SAMPLE["a"] > 0)
