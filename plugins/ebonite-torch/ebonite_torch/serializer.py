"""PyTorch modules as ``weights.safetensors`` (the state dict) plus the class that rebuilds them.

Why not ``torch.save`` or ``torch.export``: both unpickle on load (``torch.export.load`` pickles its
constants, and its documentation says never to load untrusted files). Here nothing is unpickled:

- At push, the module's class must be importable (``package.module:Class``, not ``__main__`` or a local
  class) and buildable from JSON arguments: ``module.ebonite_init_kwargs`` (a dict) if the module has it,
  else none. The class is built on the ``meta`` device with those arguments and its state dict compared
  with the module's, so a model that would not load is refused at push, not discovered later. The class
  path, the arguments and the training flag are recorded in the metadata (``model.format["details"]``).
- The weights are written as safetensors (an 8-byte header length, a JSON header of names, dtypes, shapes
  and offsets, then the raw bytes), streamed tensor by tensor from the module's memory: no second copy.
- At load, the recorded module is imported (code installed where you load, never code from the file), the
  class checked to be a ``torch.nn.Module`` subclass, built (on ``meta`` and then given empty CPU memory,
  unless it has non-persistent buffers that only its constructor computes), and every tensor read from the
  file straight into the module's own memory after the header is checked (known dtypes, sizes matching
  shapes, offsets contiguous, names exactly the module's). Tied weights stay tied.
"""

from __future__ import annotations

import importlib
import json
import re
import struct
import sys
from collections.abc import Mapping
from typing import Any

from ebonite_core import ModelSerializer, UnsafeModelError
from ebonite_core.interfaces import OpenFile

INIT_KWARGS_ATTRIBUTE = "ebonite_init_kwargs"
"""The attribute of a module holding the JSON keyword arguments its class is built with again at load."""

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit
_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}


def _class_path(obj: Any) -> tuple[str, str] | None:
    """``(module, qualified name)`` of ``obj``'s class if it can be imported by that path, else ``None``."""
    cls = type(obj)
    module, name = cls.__module__, cls.__qualname__
    if module == "__main__" or "<" in name:
        return None
    found: Any = sys.modules.get(module)
    for part in name.split("."):
        found = getattr(found, part, None)
    return (module, name) if found is cls else None


def _init_kwargs(obj: Any) -> dict[str, Any]:
    kwargs = getattr(obj, INIT_KWARGS_ATTRIBUTE, None)
    if kwargs is None:
        return {}
    try:
        return json.loads(json.dumps(dict(kwargs), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{INIT_KWARGS_ATTRIBUTE} must be a dict of JSON data: {err}") from err


class TorchSerializer(ModelSerializer):
    """``torch.nn.Module`` objects of an importable class, as safetensors weights (see the module docstring)."""

    type = "torch"
    priority = 10
    safe = True
    load_while_verifying = True  # load checks a JSON header and copies bytes: hash while it reads
    file_name = "weights.safetensors"

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        """A module whose class is importable and builds the same layout from its JSON arguments; any
        other module (a bare ``nn.Sequential``, a class defined in a script) is left to pickle."""
        torch = sys.modules.get("torch")  # imported already if obj is a module: never import it here
        if torch is None or not isinstance(obj, torch.nn.Module) or _class_path(obj) is None:
            return False
        try:
            _check_rebuilds(obj)
        except Exception:
            return False
        return True

    def modules(self, obj: Any) -> set[str]:
        return {"torch", "ebonite_torch", type(obj).__module__}

    def dump(self, obj: Any, open_file: OpenFile) -> dict[str, Any]:
        import torch

        module_name, class_name = _check_rebuilds(obj)
        kwargs = _init_kwargs(obj)
        with open_file(self.file_name) as file:
            write_safetensors(obj.state_dict(), file)
        return {
            "module": module_name,
            "class": class_name,
            "init_kwargs": kwargs,
            "training": bool(obj.training),
            "torch_version": torch.__version__,
        }

    def load(self, open_file: OpenFile, details: Mapping[str, Any]) -> Any:
        import torch

        cls = _recorded_class(details)
        kwargs = details.get("init_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ValueError(f"The recorded init_kwargs must be an object, not {kwargs!r:.80}.")
        with torch.device("meta"):
            module = cls(**kwargs)
        names = set(module.state_dict())
        if any(name not in names for name, _ in module.named_buffers()):
            module = cls(**kwargs)  # non-persistent buffers: only the constructor computes them
        else:
            shared = _shared_tensors(module)
            # Memory of its own for each tensor, as to_empty would give, but allocated here: to_empty calls
            # empty_like on meta tensors, whose first use imports sympy (0.2 s of CPU in each new process).
            empty = {name: torch.empty(t.shape, dtype=t.dtype) for name, t in module.state_dict().items()}
            module.load_state_dict(empty, assign=True)
            _tie(module, shared)  # each name got its own memory: tie what the constructor tied
        with open_file(self.file_name) as file:
            read_safetensors(file, module.state_dict(keep_vars=True))
        module.train(bool(details.get("training", False)))
        return module


def _shared_tensors(module: Any) -> list[list[str]]:
    """Groups of parameter names that share one parameter (tied weights)."""
    groups: dict[int, list[str]] = {}
    for name, parameter in module.named_parameters(remove_duplicate=False):
        groups.setdefault(id(parameter), []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def _tie(module: Any, groups: list[list[str]]) -> None:
    for first, *others in groups:
        parameter = module.get_parameter(first)
        for name in others:
            owner, _, attribute = name.rpartition(".")
            setattr(module.get_submodule(owner), attribute, parameter)


def _recorded_class(details: Mapping[str, Any]) -> type:
    import torch

    module_name, class_name = details.get("module"), details.get("class")
    if not isinstance(module_name, str) or not isinstance(class_name, str):
        raise UnsafeModelError("The model's metadata names no module class to rebuild.")
    if not _DOTTED.fullmatch(module_name) or not _DOTTED.fullmatch(class_name) or module_name == "__main__":
        raise UnsafeModelError(f"The recorded class {module_name}:{class_name} is not an importable class path.")
    found: Any = importlib.import_module(module_name)
    for part in class_name.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and issubclass(found, torch.nn.Module)):
        raise UnsafeModelError(
            f"The recorded class {module_name}:{class_name} is not a torch.nn.Module subclass: refused."
        )
    return found


def _check_rebuilds(obj: Any) -> tuple[str, str]:
    """``(module, class)`` of ``obj`` once its class, built on ``meta`` from its JSON arguments, has the same
    state layout (names, shapes, dtypes); ``ValueError`` saying what to do otherwise."""
    import torch

    path = _class_path(obj)
    if path is None:
        raise ValueError(
            f"{type(obj).__qualname__} is defined in {type(obj).__module__}: the class must be importable where "
            "the model is loaded (define it in a module), or push it with serializer='pickle'."
        )
    kwargs = _init_kwargs(obj)
    with torch.device("meta"):
        rebuilt = type(obj)(**kwargs)

    def layout(module: Any) -> set[tuple[str, tuple[int, ...], Any]]:
        return {(name, tuple(tensor.shape), tensor.dtype) for name, tensor in module.state_dict().items()}

    differing = sorted(layout(obj) ^ layout(rebuilt), key=str)[:3]
    if differing:
        raise ValueError(
            f"{path[0]}:{path[1]}(**{kwargs}) builds a module whose state differs from this one (first "
            f"differences: {differing}). Give the module an {INIT_KWARGS_ATTRIBUTE} dict with the JSON arguments "
            "its class needs, or push it with serializer='pickle'."
        )
    return path


def _bytes_view(tensor: Any) -> memoryview:
    """The tensor's memory as bytes, without a copy (it must be contiguous and on the CPU)."""
    import torch

    if not tensor.is_contiguous() or tensor.device.type != "cpu":
        raise ValueError("Only contiguous CPU tensors are read and written in place.")
    return memoryview(tensor.reshape(-1).view(torch.uint8).numpy())


def write_safetensors(state: Mapping[str, Any], file: Any) -> None:
    """Write ``state`` (name -> tensor) in the safetensors format, one tensor at a time."""
    import torch

    codes = {getattr(torch, name): code for code, name in _DTYPES.items()}
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    tensors = []
    offset = 0
    for name, tensor in state.items():
        if tensor.dtype not in codes:
            raise ValueError(f"Tensor {name!r} has dtype {tensor.dtype}, which this serializer does not store.")
        tensor = tensor.detach().to("cpu").contiguous()
        size = tensor.numel() * tensor.element_size()
        header[name] = {
            "dtype": codes[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + size],
        }
        tensors.append(tensor)
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned, as the reference writer does
    file.write(struct.pack("<Q", len(encoded)))
    file.write(encoded)
    for tensor in tensors:
        if tensor.numel():
            file.write(_bytes_view(tensor))


def read_safetensors(file: Any, targets: Mapping[str, Any]) -> None:
    """Read a safetensors file into ``targets`` (name -> tensor of the module), checking the header first:
    the names must be exactly the targets', each dtype and shape the target's, the offsets contiguous."""
    import torch

    (length,) = struct.unpack("<Q", _read_exactly(file, 8))
    if length > _MAX_HEADER:
        raise ValueError(f"The safetensors header claims {length} bytes: not a safetensors file.")
    try:
        header = json.loads(_read_exactly(file, length))
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"The safetensors header is not JSON: {err}") from err
    if not isinstance(header, dict):
        raise ValueError("The safetensors header is not a JSON object.")
    header.pop("__metadata__", None)
    if set(header) != set(targets):
        missing, unexpected = sorted(set(targets) - set(header)), sorted(set(header) - set(targets))
        raise ValueError(f"The weights do not match the module: missing {missing[:5]}, unexpected {unexpected[:5]}.")
    position = 0
    for name, entry in sorted(header.items(), key=lambda item: _offsets(item)[0]):
        target = targets[name]
        start, end = _offsets((name, entry))
        dtype = getattr(torch, _DTYPES.get(entry.get("dtype"), ""), None)
        if start != position or dtype != target.dtype or entry.get("shape") != list(target.shape):
            raise ValueError(f"Tensor {name!r}: its header entry {entry!r:.200} does not match the module.")
        if end - start != target.numel() * target.element_size():
            raise ValueError(f"Tensor {name!r}: {end - start} bytes for shape {list(target.shape)}.")
        if end > start:
            view = _bytes_view(target.data)
            if file.readinto(view) != len(view):
                raise ValueError(f"Tensor {name!r}: the file ends early.")
        position = end
    if file.read(1):
        raise ValueError("The safetensors file has bytes after its last tensor.")


def _offsets(item: tuple[str, Any]) -> tuple[int, int]:
    name, entry = item
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(value, int) and not isinstance(value, bool) for value in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise ValueError(f"Tensor {name!r}: invalid data_offsets in the safetensors header.")
    return offsets[0], offsets[1]


def _read_exactly(file: Any, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise ValueError("The file is too short to be a safetensors file.")
    return data
