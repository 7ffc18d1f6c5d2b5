"""Small picklable models for the contract suites: importable from any process, no third-party imports."""

from __future__ import annotations

from typing import Any

from ..objects import ArtifactFile, Model


class ScaleModel:
    """Multiplies every number of a list by ``factor``."""

    def __init__(self, factor: float = 2.0, payload: bytes = b"") -> None:
        self.factor = factor
        self.payload = payload  # extra bytes, to make the pickled file as large as a test needs

    def predict(self, data: list[float]) -> list[float]:
        return [value * self.factor for value in data]


def make_model(name: str = "model", task_id: str | None = None, **fields: Any) -> Model:
    """A Model's metadata as a push would hand it to a metadata repository (no object, no files)."""
    values: dict[str, Any] = {
        "serializer": "pickle",
        "methods": {
            "predict": {
                "input": {"type": "list", "item_types": ["float"]},
                "output": {"type": "list", "item_types": ["float"]},
            }
        },
        "requirements": {"numpy": "2.0.0"},
        "python_version": "3.11.7",
        "params": {"alpha": 0.5, "layers": [1, 2, {"deep": "ünïcode"}]},
        "description": "a model",
        "artifact_key": "0123456789abcdef",
        "artifacts": [ArtifactFile("model.pkl", 3, "ab" * 32)],
    }
    values.update(fields)
    return Model(name=name, task_id=task_id, **values)
