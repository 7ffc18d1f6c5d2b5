"""The ``torch`` model serializer: a PyTorch module as its weights in the safetensors format plus the
importable class that rebuilds it, loaded without unpickling anything (see :mod:`ebonite_torch.serializer`)."""

from __future__ import annotations

from .serializer import INIT_KWARGS_ATTRIBUTE, TorchSerializer

__all__ = ["INIT_KWARGS_ATTRIBUTE", "TorchSerializer"]
