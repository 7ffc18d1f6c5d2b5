"""ebonite-lightgbm: boosters and scikit-learn wrappers in LightGBM's text model format."""

from __future__ import annotations

from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest
from ebonite_lightgbm import LightGBMSerializer

from ebonite_core.testing import SerializerContract

PARAMS = {"n_estimators": 4, "num_leaves": 4, "min_child_samples": 2, "verbose": -1}


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    return frame, np.where(frame["a"] + frame["b"] > 0, "yes", "no")


class TestLGBMClassifier(SerializerContract):
    """String labels: the wrapper's label encoder must come back too."""

    serializer = LightGBMSerializer
    required_distributions = ("lightgbm", "numpy", "pandas", "scikit-learn", "ebonite-lightgbm")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        frame, labels = _data()
        return lightgbm.LGBMClassifier(**PARAMS).fit(frame, labels), frame.head(10)


class TestLGBMRegressor(SerializerContract):
    serializer = LightGBMSerializer
    required_distributions = ("lightgbm", "ebonite-lightgbm")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        frame, _ = _data()
        return lightgbm.LGBMRegressor(**PARAMS).fit(frame.to_numpy(), frame["a"] * 2), frame.to_numpy()[:10]


class TestLightGBMBooster(SerializerContract):
    serializer = LightGBMSerializer
    required_distributions = ("lightgbm", "ebonite-lightgbm")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        frame, labels = _data()
        dataset = lightgbm.Dataset(frame.to_numpy(), label=(labels == "yes").astype(int))
        params = {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1}
        return lightgbm.train(params, dataset, num_boost_round=3), frame.to_numpy()[:10]


def test_a_custom_objective_is_left_to_pickle() -> None:
    def objective(labels: Any, predictions: Any) -> Any:
        return predictions - labels, np.ones_like(predictions)

    assert not LightGBMSerializer.can_serialize(lightgbm.LGBMRegressor(objective=objective))
    assert LightGBMSerializer.can_serialize(lightgbm.LGBMRegressor())
