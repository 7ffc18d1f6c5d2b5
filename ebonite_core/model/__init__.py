"""Turning a Python object into a Model and back: serializers, signatures, requirements."""

from __future__ import annotations

from ..interfaces import ModelSerializer
from .create import create_model
from .requirements import RequirementsWarning
from .serializer import PickleSerializer

__all__ = ["ModelSerializer", "PickleSerializer", "RequirementsWarning", "create_model"]
