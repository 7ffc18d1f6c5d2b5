"""The model serializer interface: how a trained object becomes files and back.

A serializer class is registered through the ``ebonite_model_serializers`` hook and names itself with
``type``; the type is recorded in the model's metadata so that loading picks the same class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import IO, Any, ClassVar

OpenFile = Callable[[str], IO[bytes]]
"""Opens the named artifact file of the model being written or read (binary, already hashed/verified)."""


class ModelSerializer(ABC):
    """Turns a trained object into one or more named files, and back.

    ``dump`` writes through ``open_file(name)`` (the client hashes what is written and stores it);
    ``load`` reads through ``open_file(name)`` (files the client has already checked against the manifest).
    File names are single path components of letters, digits, ``_``, ``-`` and ``.``.

    When several serializers can handle an object, the one with the highest ``priority`` wins; the built-in
    ``pickle`` serializer has priority 0 and accepts everything.

    Write your own::

        class TorchSerializer(ModelSerializer):
            type = "torch"
            priority = 10

            @classmethod
            def can_serialize(cls, obj): return type(obj).__module__.startswith("torch")
            def modules(self, obj): return {"torch"}
            def dump(self, obj, open_file):
                with open_file("model.pt") as f: torch.save(obj, f)
            def load(self, open_file):
                with open_file("model.pt") as f: return torch.load(f)
    """

    type: ClassVar[str]
    priority: ClassVar[int] = 0

    @classmethod
    @abstractmethod
    def can_serialize(cls, obj: Any) -> bool:
        """Whether this serializer can store ``obj``."""

    @abstractmethod
    def modules(self, obj: Any) -> set[str]:
        """The names of the modules whose code is needed to load ``obj`` again (for its requirements)."""

    @abstractmethod
    def dump(self, obj: Any, open_file: OpenFile) -> None:
        """Write ``obj`` into files opened with ``open_file``."""

    @abstractmethod
    def load(self, open_file: OpenFile) -> Any:
        """Read back the object that :meth:`dump` wrote."""
