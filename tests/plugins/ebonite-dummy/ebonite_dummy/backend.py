"""The ``dummy`` artifact repository (in-memory files under its own type name) and the ``echo`` serializer.

The repository's ``url`` and ``token`` do nothing; they let tests check how a config file writes secrets.
"""

from __future__ import annotations

from typing import Any

from ebonite_core import InMemoryArtifactRepository, ModelSerializer


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


class Echo:
    """A model that answers every input with its stored text; only the echo serializer takes it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def predict(self, data):
        return [self.text for _ in data]


class EchoSerializer(ModelSerializer):
    type = "echo"
    priority = 5

    @classmethod
    def can_serialize(cls, obj):
        return isinstance(obj, Echo)

    def modules(self, obj):
        return {"ebonite_dummy"}

    def dump(self, obj, open_file):
        with open_file("echo.txt") as file:
            file.write(obj.text.encode("utf-8"))

    def load(self, open_file, details):
        with open_file("echo.txt") as file:
            return Echo(file.read().decode("utf-8"))
