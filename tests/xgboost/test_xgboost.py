"""ebonite-xgboost: boosters and scikit-learn wrappers in XGBoost's UBJSON format."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xgboost
from ebonite_xgboost import XGBoostSerializer

from ebonite_core.testing import SerializerContract


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3)).astype(np.float32)
    return features, (features[:, 0] + features[:, 1] > 0).astype(int)


class TestXGBClassifier(SerializerContract):
    serializer = XGBoostSerializer
    required_distributions = ("xgboost", "numpy", "scikit-learn", "ebonite-xgboost")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        features, labels = _data()
        return xgboost.XGBClassifier(n_estimators=4, max_depth=2).fit(features, labels), features[:10]


class TestXGBoostBooster(SerializerContract):
    serializer = XGBoostSerializer
    required_distributions = ("xgboost", "ebonite-xgboost")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        features, labels = _data()
        booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(features, label=labels), num_boost_round=3)
        return booster, xgboost.DMatrix(features[:10])


def test_subclasses_are_left_to_pickle() -> None:
    class Mine(xgboost.XGBRegressor):
        pass

    assert not XGBoostSerializer.can_serialize(Mine())
    assert XGBoostSerializer.can_serialize(xgboost.XGBRegressor())
