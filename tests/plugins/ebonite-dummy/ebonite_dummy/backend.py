"""The ``dummy`` artifact repository: in-memory files, under its own type name.

``url`` and ``token`` do nothing; they exist so that tests can check how a config file writes secrets.
"""

from __future__ import annotations

from typing import Any

from ebonite_core import InMemoryArtifactRepository


class DummyArtifactRepository(InMemoryArtifactRepository):
    type = "dummy"

    def __init__(self, label: str = "dummy", url: str | None = None, token: str | None = None) -> None:
        super().__init__()
        self.label = label
        self.url = url
        self.token = token

    def config(self) -> dict[str, Any]:
        options = {"label": self.label, "url": self.url, "token": self.token}
        return {name: value for name, value in options.items() if value is not None}
