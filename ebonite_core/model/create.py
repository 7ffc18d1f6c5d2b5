"""Turning a trained object and a data sample into a :class:`~ebonite_core.objects.Model` (nothing stored)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..interfaces import ModelSerializer
from ..names import check_name, check_tags
from ..objects import Model, utc_now
from ..plugins import PluginRegistry, get_registry
from . import additional
from .additional import AdditionalArtifacts
from .requirements import parse_requirements, requirements_of, sample_modules
from .signature import describe

# Looked for on the object, in this order; a plain callable with none of them exposes ``__call__``.
CANDIDATE_METHODS = ("predict", "predict_proba", "decision_function", "transform")


def choose_serializer(obj: Any, registry: PluginRegistry) -> type[ModelSerializer]:
    """The installed serializer with the highest priority that accepts ``obj``."""
    candidates = sorted(registry.available("serializer").values(), key=lambda cls: (-cls.priority, cls.type))
    for candidate in candidates:
        if candidate.can_serialize(obj):
            return candidate
    raise ValueError(f"No installed model serializer accepts a {type(obj).__qualname__} object.")


def _method_names(obj: Any, methods: Iterable[str] | None) -> list[str]:
    if methods is not None:
        names = list(methods)
        for name in names:
            if name != "__call__" and not callable(getattr(obj, name, None)):
                raise ValueError(f"The {type(obj).__qualname__} object has no method {name!r}.")
        if not names:
            raise ValueError("methods=[] exposes nothing: name at least one method of the object.")
        return names
    names = [name for name in CANDIDATE_METHODS if callable(getattr(obj, name, None))]
    if not names and callable(obj) and not isinstance(obj, type):
        names = ["__call__"]
    if not names:
        raise ValueError(
            f"The {type(obj).__qualname__} object has none of the methods {', '.join(CANDIDATE_METHODS)} and is "
            "not callable: pass methods=[...] to say which methods the model exposes."
        )
    return names


def analyse_methods(obj: Any, input_data: Any, methods: Iterable[str] | None = None) -> dict[str, Any]:
    """Call each exposed method on the sample and record its input and output signatures."""
    signatures = {}
    input_signature = describe(input_data)
    for name in _method_names(obj, methods):
        function = obj if name == "__call__" else getattr(obj, name)
        try:
            output = function(input_data)
        except Exception as err:
            raise ValueError(
                f"Calling {name}() of the {type(obj).__qualname__} object on the data sample failed "
                f"({type(err).__name__}: {err}). Pass a sample the model accepts, or choose methods=[...]."
            ) from err
        signatures[name] = {"input": input_signature, "output": describe(output)}
    return signatures


def _json_params(params: dict[str, Any] | None) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict) or not all(isinstance(key, str) for key in params):
        raise ValueError("params must be a dict with string keys.")
    try:
        # Stored as JSON by every backend: round-trip now, so every backend gives back the same values.
        text = json.dumps(params, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate cannot be stored as UTF-8 by any backend
        return json.loads(text)
    except (TypeError, ValueError) as err:  # UnicodeEncodeError is a ValueError
        raise ValueError(
            f"params must be JSON data (valid Unicode text, numbers without NaN, lists, dicts): {err}"
        ) from err


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def create_model(
    obj: Any,
    input_data: Any,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    description: str | None = None,
    *,
    methods: Iterable[str] | None = None,
    serializer: str | None = None,
    tags: dict[str, str] | None = None,
    additional_requirements: str | Iterable[str] | Mapping[str, str] | None = None,
    additional_artifacts: AdditionalArtifacts | None = None,
) -> Model:
    """Analyse a trained object on a data sample and return an unsaved :class:`Model`.

    - ``methods``: the methods to expose; by default those of ``predict``, ``predict_proba``,
      ``decision_function``, ``transform`` the object has, or ``__call__`` for a plain callable. Each is
      called on ``input_data`` to record its input and output signature.
    - ``serializer``: a serializer type; by default the installed one with the highest priority that
      accepts the object (the built-in ``pickle`` accepts everything).
    - ``name``: defaults to ``<serializer>_model_<UTC timestamp>``.
    - ``params``: JSON data (hyper-parameters, metrics) stored with the metadata.
    - ``tags``: short strings to find the model by, e.g. ``{"dataset": "2026-11", "stage": "candidate"}``.
    - ``additional_requirements``: distributions the model needs beyond those found, as in Ebonite 0.7:
      ``"name"`` (the installed version is recorded), ``"name==version"``, a list of these, or
      ``{name: version}``.
    - ``additional_artifacts``: extra files stored, checked and given back with the model,
      ``{name: path or bytes}`` (see :mod:`ebonite_core.model.additional`).

    Requirements (distribution -> version) come from the modules the serialized object refers to, the
    serializer's own, and the libraries of the data sample's types (a pandas DataFrame records pandas).
    Push the result with :meth:`Ebonite.push_model`.
    """
    registry = get_registry()
    serializer_class = registry.resolve("serializer", serializer) if serializer else choose_serializer(obj, registry)
    if name is None:
        name = f"{serializer_class.type}_model_{utc_now():%Y%m%dT%H%M%S%fZ}"
    check_name(name, "model")
    if description is not None and (not isinstance(description, str) or not _encodable(description)):
        raise ValueError("description must be a string of valid Unicode text (no lone surrogate).")
    json_params = _json_params(params)
    checked_tags = check_tags(tags if tags is not None else {})
    signatures = analyse_methods(obj, input_data, methods)
    extra = parse_requirements(additional_requirements)

    additional_files, additional_directory = additional.collect(additional_artifacts)
    try:
        modules = serializer_class().modules(obj)
    except Exception as err:
        raise ValueError(
            f"The {type(obj).__qualname__} object cannot be serialized with {serializer_class.type!r}: "
            f"{type(err).__name__}: {err}"
        ) from err
    model = Model(
        name=name,
        serializer=serializer_class.type,
        methods=signatures,
        requirements=dict(sorted({**requirements_of(modules | sample_modules(input_data)), **extra}.items())),
        python_version=sys.version.split()[0],  # what platform.python_version() reads, without importing platform
        params=json_params,
        description=description,
        tags=checked_tags,
    )
    model._object = obj
    model._loaded = True
    model._additional, model._additional_directory = additional_files, additional_directory
    return model
