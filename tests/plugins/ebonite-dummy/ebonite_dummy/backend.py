"""The ``dummy`` artifact repository: in-memory files, under its own type name."""

from __future__ import annotations

from ebonite_core import InMemoryArtifactRepository


class DummyArtifactRepository(InMemoryArtifactRepository):
    type = "dummy"

    def __init__(self, label: str = "dummy") -> None:
        super().__init__()
        self.label = label
