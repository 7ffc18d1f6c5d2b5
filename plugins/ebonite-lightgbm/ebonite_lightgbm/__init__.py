"""The ``lightgbm`` model serializer: LightGBM boosters and scikit-learn wrappers in LightGBM's native text
model format, which loads without running code from the file (see :mod:`ebonite_lightgbm.serializer`)."""

from __future__ import annotations

from .serializer import CLASSES, LightGBMSerializer

__all__ = ["CLASSES", "LightGBMSerializer"]
