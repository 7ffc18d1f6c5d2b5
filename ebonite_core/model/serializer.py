"""The built-in model serializer, ``pickle`` (the interface is :class:`~ebonite_core.interfaces.ModelSerializer`)."""

from __future__ import annotations

import pickle
import types
from collections.abc import Mapping
from typing import Any

from ..interfaces.serializer import ModelSerializer, OpenFile


class _NullFile:
    """A write-only sink: lets the pickler walk an object without storing anything."""

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes


class PickleSerializer(ModelSerializer):
    """Any picklable object, as one file ``model.pkl`` (pickle protocol 5, streamed in and out).

    Loading unpickles, which runs code chosen by whoever wrote the file: not ``safe``. Only load models from
    stores you trust; a client with ``allow_pickle=False`` refuses them.
    """

    type = "pickle"
    priority = 0
    safe = False
    protocol = 5
    file_name = "model.pkl"

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        return True

    def modules(self, obj: Any) -> set[str]:
        modules: set[str] = set()
        _ModuleRecorder(_NullFile(), modules).dump(obj)
        return modules

    def dump(self, obj: Any, open_file: OpenFile) -> None:
        with open_file(self.file_name) as file:
            pickle.dump(obj, file, protocol=self.protocol)

    def load(self, open_file: OpenFile, details: Mapping[str, Any]) -> Any:
        with open_file(self.file_name) as file:
            return pickle.load(file)


class _ModuleRecorder(pickle.Pickler):
    """A pickler that notes the module of every class, function and object it saves by reference."""

    def __init__(self, file: Any, modules: set[str]) -> None:
        super().__init__(file, protocol=PickleSerializer.protocol)
        self._modules = modules

    def reducer_override(self, obj: Any) -> Any:
        # Called for every object that is not a basic type (int, str, bytes, ...) nor already memoized.
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            module = getattr(obj, "__module__", None)
        else:
            module = type(obj).__module__
        if module:
            self._modules.add(module)
        return NotImplemented
