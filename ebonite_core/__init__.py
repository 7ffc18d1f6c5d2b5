"""ebonite-core: persist machine-learning models in pluggable metadata and artifact repositories."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
