"""XGBoost models as one file, ``model.ubj``: XGBoost's own UBJSON model format.

The file holds the trees and the learner's configuration, parsed by XGBoost's C++ loader: no Python object
is unpickled and no code named by the file is imported. Which Python class to rebuild is recorded in the
model's metadata (``model.format["details"]["class"]``) and must be one of :data:`CLASSES`, exactly: a
subclass of your own would lose its code, so it is left to pickle.

For the scikit-learn wrappers, the file is what their ``save_model`` writes (the estimator type included),
and loading restores what their ``load_model`` restores: the fitted model and its attributes (``classes_``,
``n_features_in_``...), not the training hyper-parameters (``n_estimators``, ``learning_rate``...), which
``get_params()`` then shows at their defaults.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from ebonite_core import ModelSerializer, UnsafeModelError
from ebonite_core.interfaces import OpenFile

CLASSES = ("Booster", "XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")
"""The xgboost classes this serializer stores and rebuilds (by exact type)."""


def _xgboost_class(obj: Any) -> str | None:
    xgboost = sys.modules.get("xgboost")  # imported already if obj is one of its models: never import it here
    name = type(obj).__name__
    if xgboost is None or name not in CLASSES or type(obj) is not getattr(xgboost, name, None):
        return None
    return name


class XGBoostSerializer(ModelSerializer):
    """``xgboost.Booster`` and the scikit-learn wrappers (:data:`CLASSES`), in XGBoost's UBJSON format."""

    type = "xgboost"
    priority = 20  # its scikit-learn wrappers are scikit-learn estimators too: beat skops's 10
    safe = True
    file_name = "model.ubj"

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        return _xgboost_class(obj) is not None

    def modules(self, obj: Any) -> set[str]:
        modules = {"xgboost", "numpy", "ebonite_xgboost"}
        return modules | ({"sklearn"} if _xgboost_class(obj) != "Booster" else set())

    def dump(self, obj: Any, open_file: OpenFile) -> dict[str, Any]:
        import xgboost

        name = _xgboost_class(obj)
        if name == "Booster":
            raw = obj.save_raw(raw_format="ubj")
        else:
            # What XGBModel.save_model writes: the booster with the estimator type as an attribute.
            booster = obj.get_booster()
            booster.set_attr(scikit_learn=json.dumps({"_estimator_type": obj._get_type()}))
            try:
                raw = booster.save_raw(raw_format="ubj")
            finally:
                booster.set_attr(scikit_learn=None)
        with open_file(self.file_name) as file:
            file.write(raw)
        return {"class": name, "format": "ubj", "xgboost_version": xgboost.__version__}

    def load(self, open_file: OpenFile, details: Mapping[str, Any]) -> Any:
        import xgboost

        name = details.get("class")
        if name not in CLASSES:
            raise UnsafeModelError(f"The recorded xgboost class {name!r} is not one of {', '.join(CLASSES)}.")
        with open_file(self.file_name) as file:
            raw = bytearray(file.read())
        if not raw.startswith(b"{"):  # UBJSON and JSON models are objects; a pickle or a zip is refused here
            raise ValueError(f"{self.file_name} is not an XGBoost UBJSON or JSON model.")
        model = getattr(xgboost, name)()
        model.load_model(raw)
        return model
