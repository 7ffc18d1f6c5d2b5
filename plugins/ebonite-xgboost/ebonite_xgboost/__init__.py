"""The ``xgboost`` model serializer: XGBoost boosters and scikit-learn wrappers in XGBoost's native UBJSON
format, which loads without running code from the file (see :mod:`ebonite_xgboost.serializer`)."""

from __future__ import annotations

from .serializer import CLASSES, XGBoostSerializer

__all__ = ["CLASSES", "XGBoostSerializer"]
