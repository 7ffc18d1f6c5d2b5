"""The plugin module named by the ``ebonite`` entry point: hook implementations only.

The serializer is imported inside the hook's body; its module imports neither scikit-learn nor skops until a
model is dumped or loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ebonite_core import hookimpl

if TYPE_CHECKING:
    from ebonite_core import ModelSerializer


@hookimpl
def ebonite_model_serializers() -> Iterable[type[ModelSerializer]]:
    from .serializer import SkopsSerializer

    return [SkopsSerializer]
