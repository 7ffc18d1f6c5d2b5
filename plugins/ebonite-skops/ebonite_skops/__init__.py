"""The ``skops`` model serializer: scikit-learn estimators and pipelines in skops's format, which loads
without running code from the file; see :mod:`ebonite_skops.serializer` for what is trusted on load."""

from __future__ import annotations

from .serializer import ALLOWED_MODULES, TRUSTED_TYPES_VARIABLE, SkopsSerializer, trust_types

__all__ = ["ALLOWED_MODULES", "TRUSTED_TYPES_VARIABLE", "SkopsSerializer", "trust_types"]
