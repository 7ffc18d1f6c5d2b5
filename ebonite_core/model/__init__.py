"""Turning a Python object into a Model and back: serializers, signatures, requirements."""

from __future__ import annotations

from .create import create_model
from .requirements import RequirementsWarning
from .serializer import ModelSerializer, PickleSerializer

__all__ = ["ModelSerializer", "PickleSerializer", "RequirementsWarning", "create_model"]
