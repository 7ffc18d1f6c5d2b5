"""Looking after a whole registry: selecting by path, verifying, collecting garbage, copying.

What the ``ebonite`` command's ``ls``, ``verify``, ``gc`` and ``copy`` do, as functions that take
:class:`~ebonite_core.Ebonite` clients and return reports; the command only prints them. Nothing here is
imported by ``import ebonite_core``.
"""

from __future__ import annotations

from .copy import CopyOutcome, copy_models
from .gc import GarbageReport, collect_garbage
from .verify import Problem, VerifyReport, verify
from .walk import RegistryPath, find, walk

__all__ = [
    "CopyOutcome",
    "GarbageReport",
    "Problem",
    "RegistryPath",
    "VerifyReport",
    "collect_garbage",
    "copy_models",
    "find",
    "verify",
    "walk",
]
