"""The model serializer interface: how a trained object becomes files and back.

A serializer class is registered through the ``ebonite_model_serializers`` hook and names itself with
``type``; the type, whether the format is ``safe`` and what ``dump`` returned are recorded in the model's
metadata (``model.serializer``, ``model.format``) so that loading picks the same class, and so that the
client can refuse a code-running format before anything is read (:mod:`ebonite_core.model.safety`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
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

    ``safe = True`` declares that loading this serializer's files cannot run code they carry, whatever their
    bytes are: no pickle (nor ``torch.load`` without ``weights_only``, nor any loader that falls back to one),
    no module or class named by the file imported or called. A client with ``allow_pickle=False`` loads only
    models whose metadata records a safe format *and* whose serializer class declares itself safe; the
    check is the client's, before ``load`` is called (:func:`ebonite_core.model.safety.check_load_allowed`).
    ``ebonite_core.testing.SerializerContract`` feeds a safe serializer's ``load`` poisoned files to prove it.

    Write your own::

        class JsonLookupSerializer(ModelSerializer):
            type = "lookup-json"
            priority = 10
            safe = True     # json.loads runs no code

            @classmethod
            def can_serialize(cls, obj): return isinstance(obj, Lookup)
            def modules(self, obj): return {"lookup"}
            def dump(self, obj, open_file):
                with open_file("lookup.json") as f: f.write(json.dumps(obj.table).encode())
                return {"version": 1}          # recorded in model.format["details"], given back to load
            def load(self, open_file, details):
                with open_file("lookup.json") as f: return Lookup(json.loads(f.read()))
    """

    type: ClassVar[str]
    priority: ClassVar[int] = 0
    safe: ClassVar[bool] = False
    load_while_verifying: ClassVar[bool] = False
    """For a ``safe`` serializer whose ``load`` interprets nothing an attacker could aim at (it checks a small
    header and copies bytes into place): the client hashes each file as ``load`` reads it, rather than
    before (the bytes checked are the bytes loaded, in one pass; a file not read in order to its end is checked
    after ``load``), and returns the object only once every file matched. Serializers that hand the bytes to
    a parser (a C++ model loader, skops) leave it ``False``: their files are checked before any byte reaches
    the parser."""

    @classmethod
    @abstractmethod
    def can_serialize(cls, obj: Any) -> bool:
        """Whether this serializer can store ``obj``."""

    @abstractmethod
    def modules(self, obj: Any) -> set[str]:
        """The names of the modules whose code is needed to load ``obj`` again (for its requirements)."""

    @abstractmethod
    def dump(self, obj: Any, open_file: OpenFile) -> Mapping[str, Any] | None:
        """Write ``obj`` into files opened with ``open_file``; optionally return JSON data about the files
        (a file format version, the types they hold...), recorded in the model's metadata and given back to
        :meth:`load` as ``details``."""

    @abstractmethod
    def load(self, open_file: OpenFile, details: Mapping[str, Any]) -> Any:
        """Read back the object that :meth:`dump` wrote; ``details`` is what it returned (``{}`` for none).

        Treat ``details`` as untrusted input, like the files: it comes from the metadata store."""
