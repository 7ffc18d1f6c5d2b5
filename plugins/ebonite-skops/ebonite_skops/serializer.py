"""scikit-learn estimators and pipelines as one skops file, ``model.skops``.

skops stores an object as a JSON schema of the object tree (in a zip, with numpy arrays beside it) and
rebuilds it without pickle; it refuses, on load, every type it does not trust unless the caller names it.
Which types are trusted decides whether loading can run code, so this serializer decides it the same way on
every machine:

- At push, the types skops would not trust by default are recorded in the model's metadata
  (``model.format["details"]["untrusted_types"]``), for everyone to see (``ebonite show --json``).
- At load, exactly the recorded types that also pass the allow-list are trusted, and nothing else: a type
  in the file but not recorded is refused by skops, and a recorded type outside the allow-list is refused
  here, naming it, before skops reads the file.
- The allow-list: types from the modules in :data:`ALLOWED_MODULES` (scikit-learn, numpy and scipy, whose
  classes hold data: skops rebuilds them without calling code named by the file), plus the exact type
  names given in ``$EBONITE_SKOPS_TRUSTED_TYPES`` (comma-separated) or to :func:`trust_types`. Add a type
  there only when you know its code: trusting ``builtins.open`` or ``os.system`` lets a file call them.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from ebonite_core import ModelSerializer, PickleSerializer, UnsafeModelError
from ebonite_core.interfaces import OpenFile

ALLOWED_MODULES = ("sklearn", "numpy", "scipy")
"""Top-level packages whose types are trusted when a model's metadata records them."""

TRUSTED_TYPES_VARIABLE = "EBONITE_SKOPS_TRUSTED_TYPES"
_trusted_types: set[str] = set()


def trust_types(names: Iterable[str]) -> None:
    """Trust these exact type names (``"mypackage.module.MyEstimator"``) in this process, beyond the allow-list.

    Deliberately: a trusted type is built from the file, and a type whose construction runs code lets the
    file run it. The environment variable ``EBONITE_SKOPS_TRUSTED_TYPES`` does the same for every process.
    """
    _trusted_types.update(names)


def is_allowed(type_name: str) -> bool:
    """Whether ``type_name`` passes the allow-list (see the module's docstring)."""
    extra = {name.strip() for name in os.environ.get(TRUSTED_TYPES_VARIABLE, "").split(",") if name.strip()}
    return type_name.split(".")[0] in ALLOWED_MODULES or type_name in _trusted_types | extra


class SkopsSerializer(ModelSerializer):
    """scikit-learn estimators and pipelines (any object of a ``sklearn`` class), stored with skops."""

    type = "skops"
    priority = 10
    safe = True
    file_name = "model.skops"

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        # scikit-learn is imported already if obj is one of its estimators: never import it here.
        sklearn_base = sys.modules.get("sklearn.base")
        return sklearn_base is not None and isinstance(obj, sklearn_base.BaseEstimator)

    def modules(self, obj: Any) -> set[str]:
        # The modules of every object in the tree (numpy, scipy, your own transformers...), as pickle sees them.
        return PickleSerializer().modules(obj) | {"sklearn", "skops", "ebonite_skops"}

    def dump(self, obj: Any, open_file: OpenFile) -> dict[str, Any]:
        import skops
        import skops.io

        data = skops.io.dumps(obj)
        untrusted = skops.io.get_untrusted_types(data=data)
        refused = [name for name in untrusted if not is_allowed(name)]
        if refused:
            warnings.warn(
                f"The skops file holds types outside ebonite-skops's allow-list: {', '.join(refused)}. Loading the "
                f"model will need them trusted deliberately ({TRUSTED_TYPES_VARIABLE} or ebonite_skops.trust_types).",
                UserWarning,
                stacklevel=4,
            )
        with open_file(self.file_name) as file:
            file.write(data)
        return {"untrusted_types": untrusted, "skops_version": skops.__version__}

    def load(self, open_file: OpenFile, details: Mapping[str, Any]) -> Any:
        import skops.io

        recorded = details.get("untrusted_types", [])
        if not isinstance(recorded, list) or not all(isinstance(name, str) for name in recorded):
            raise UnsafeModelError(f"The recorded untrusted_types must be a list of type names, not {recorded!r:.200}.")
        refused = sorted(name for name in recorded if not is_allowed(name))
        if refused:
            raise UnsafeModelError(
                f"The skops file holds types outside the allow-list ({', '.join(ALLOWED_MODULES)}): "
                f"{', '.join(refused)}. Building them may run their code: if you know it, trust them deliberately "
                f"with {TRUSTED_TYPES_VARIABLE}={','.join(refused)} or ebonite_skops.trust_types([...]), and load "
                "again."
            )
        with open_file(self.file_name) as file:
            # skops refuses any type that is neither trusted by default nor in this list.
            return skops.io.load(file, trusted=recorded)
