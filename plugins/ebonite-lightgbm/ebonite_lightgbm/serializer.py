"""LightGBM models as one file, ``model.txt``: LightGBM's own text model format.

The file holds the trees and parameters, parsed by LightGBM's C++ loader: no Python object is unpickled and
no code named by the file is imported. Which class to rebuild is recorded in the model's metadata
(``model.format["details"]["class"]``) and must be one of :data:`CLASSES`, exactly.

LightGBM's scikit-learn wrappers have no file format of their own: a wrapper is rebuilt around the booster
from what ``fit`` sets and ``predict`` reads (the objective, the classes and their dtype, the number of
features), recorded as JSON in the details. The training hyper-parameters are not restored:
``get_params()`` shows their defaults; predictions are the same.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from ebonite_core import ModelSerializer, UnsafeModelError
from ebonite_core.interfaces import OpenFile

CLASSES = ("Booster", "LGBMClassifier", "LGBMRegressor", "LGBMRanker")
"""The lightgbm classes this serializer stores and rebuilds (by exact type)."""

_CLASS_DTYPE_KINDS = "biufU"  # numpy dtype kinds of class labels that JSON holds: no object dtype


def _lightgbm_class(obj: Any) -> str | None:
    lightgbm = sys.modules.get("lightgbm")  # imported already if obj is one of its models: never import it here
    name = type(obj).__name__
    if lightgbm is None or name not in CLASSES or type(obj) is not getattr(lightgbm, name, None):
        return None
    return name


class LightGBMSerializer(ModelSerializer):
    """``lightgbm.Booster`` and the scikit-learn wrappers (:data:`CLASSES`), in LightGBM's text format."""

    type = "lightgbm"
    priority = 20  # its scikit-learn wrappers are scikit-learn estimators too: beat skops's 10
    safe = True
    file_name = "model.txt"

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        name = _lightgbm_class(obj)
        # A custom objective is Python code: not storable in the text format (pickle takes it).
        return name is not None and (name == "Booster" or not callable(getattr(obj, "_objective", None)))

    def modules(self, obj: Any) -> set[str]:
        modules = {"lightgbm", "numpy", "ebonite_lightgbm"}
        return modules | ({"sklearn"} if _lightgbm_class(obj) != "Booster" else set())

    def dump(self, obj: Any, open_file: OpenFile) -> dict[str, Any]:
        import lightgbm

        name = _lightgbm_class(obj)
        booster = obj if name == "Booster" else obj.booster_
        details: dict[str, Any] = {"class": name, "lightgbm_version": lightgbm.__version__}
        if name != "Booster":
            details["objective"] = obj._objective
            details["n_features_in"] = int(obj.n_features_in_)
            details["fitted_with_feature_names"] = bool(obj._fitted_with_feature_names)
            if name == "LGBMClassifier":
                if obj.classes_.dtype.kind not in _CLASS_DTYPE_KINDS:
                    raise ValueError(f"class labels of dtype {obj.classes_.dtype} cannot be stored as JSON")
                details["classes"] = obj.classes_.tolist()
                details["classes_dtype"] = obj.classes_.dtype.str
        with open_file(self.file_name) as file:
            file.write(booster.model_to_string().encode("utf-8"))
        return details

    def load(self, open_file: OpenFile, details: Mapping[str, Any]) -> Any:
        import lightgbm

        name = details.get("class")
        if name not in CLASSES:
            raise UnsafeModelError(f"The recorded lightgbm class {name!r} is not one of {', '.join(CLASSES)}.")
        with open_file(self.file_name) as file:
            text = file.read().decode("utf-8")  # a pickle or a zip is not UTF-8 text: refused here
        booster = lightgbm.Booster(model_str=text)
        if name == "Booster":
            return booster
        return _wrapper(getattr(lightgbm, name), booster, details)


def _wrapper(cls: type, booster: Any, details: Mapping[str, Any]) -> Any:
    """A fitted scikit-learn wrapper around ``booster``: the attributes ``fit`` sets and ``predict`` reads."""
    import numpy as np

    objective = details.get("objective")
    if not isinstance(objective, str):
        raise ValueError(f"The recorded objective must be a name, not {objective!r:.80}.")
    model = cls()
    model._Booster = booster
    model._objective = objective
    model._n_features = booster.num_feature()
    model._n_features_in = int(details.get("n_features_in", booster.num_feature()))
    model._fitted_with_feature_names = bool(details.get("fitted_with_feature_names", False))
    model._evals_result = {}
    model._best_iteration = booster.best_iteration
    model._best_score = booster.best_score
    model.fitted_ = True
    if "classes" in details:
        from lightgbm.compat import _LGBMLabelEncoder

        dtype = np.dtype(str(details.get("classes_dtype")))
        if dtype.kind not in _CLASS_DTYPE_KINDS:
            raise ValueError(f"The recorded class labels' dtype {dtype} is not allowed.")
        model._le = _LGBMLabelEncoder().fit(np.asarray(details["classes"], dtype=dtype))
        model._classes = model._le.classes_
        model._n_classes = len(model._classes)
        model._class_map = dict(zip(model._le.classes_, model._le.transform(model._le.classes_), strict=True))
    return model
