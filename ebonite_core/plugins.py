"""Finding backends and serializers: built-in plugins, then installed plugins from entry points.

Nothing happens at import time. The built-in plugin (:mod:`ebonite_core.builtins`) is registered when the
registry is first used; installed plugins (entry point group ``ebonite``) load only when a type that no
loaded plugin provides is asked for, or when every plugin is listed. Each entry point loads on its own: one
that fails to import is recorded with its error and never hides the others.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from . import hookspecs
from .errors import DuplicateBackendError, IncompatiblePluginError, UnknownBackendError
from .interfaces import ArtifactRepository, Command, MetadataRepository, ModelSerializer
from .options import closest

if TYPE_CHECKING:
    from importlib import metadata

Kind = Literal["metadata", "artifact", "serializer", "command"]

ENTRY_POINT_GROUP = "ebonite"
BUILTIN_PLUGINS = ("ebonite_core.builtins",)
DISABLE_VARIABLE = "EBONITE_DISABLE_PLUGINS"

# kind -> (hook name, what users call it, the class every provided class must subclass)
KINDS: dict[str, tuple[str, str, type]] = {
    "metadata": ("ebonite_metadata_repositories", "metadata repository", MetadataRepository),
    "artifact": ("ebonite_artifact_repositories", "artifact repository", ArtifactRepository),
    "serializer": ("ebonite_model_serializers", "model serializer", ModelSerializer),
    "command": ("ebonite_commands", "ebonite command", Command),
}
# The class attribute that names a class of each kind (``type`` unless listed here).
NAME_ATTRIBUTES: dict[str, str] = {"command": "name"}

# First-party types that live in their own distribution: named in "unknown type" errors.
INSTALL_HINTS: dict[tuple[str, str], str] = {
    ("metadata", "sqlalchemy"): "ebonite-sqlalchemy",
    ("artifact", "s3"): "ebonite-s3",
    ("metadata", "http"): "ebonite-server",
    ("artifact", "http"): "ebonite-server",
    ("artifact", "fsspec"): "ebonite-fsspec",
    ("serializer", "skops"): "ebonite-skops",
    ("serializer", "xgboost"): "ebonite-xgboost",
    ("serializer", "lightgbm"): "ebonite-lightgbm",
    ("serializer", "torch"): "ebonite-torch",
}


def _installed_entry_points() -> Iterable[metadata.EntryPoint]:
    from importlib.metadata import entry_points  # scanning distributions is slow: only when needed

    return entry_points(group=ENTRY_POINT_GROUP)


def _disabled_from_environment() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_VARIABLE, "").split(",") if name.strip()}


@dataclass
class PluginInfo:
    """One plugin as the registry sees it: where it comes from, what it provides, whether it loaded."""

    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    disabled: bool = False
    error: BaseException | None = None
    types: dict[str, list[str]] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        if self.builtin:
            return "built in"
        if self.distribution:
            return f"distribution {self.distribution} {self.version or ''}".rstrip()
        return "no installed distribution"

    def describe_error(self) -> str:
        return f"plugin {self.name!r} ({self.origin}) failed to load: {type(self.error).__name__}: {self.error}"


@dataclass(frozen=True)
class _Provider:
    cls: type
    plugin: str

    @property
    def qualified_name(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


class PluginRegistry:
    """The plugin manager and the type tables built from its hooks.

    ``entry_points`` and ``disabled`` exist for tests; by default the installed entry points of group
    ``ebonite`` are used and ``EBONITE_DISABLE_PLUGINS`` (comma-separated plugin names) is honoured.
    """

    def __init__(
        self,
        entry_points: Callable[[], Iterable[metadata.EntryPoint]] | None = None,
        disabled: Iterable[str] | None = None,
    ) -> None:
        self._manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._entry_points = entry_points or _installed_entry_points
        self._disabled = set(disabled) if disabled is not None else _disabled_from_environment()
        self._lock = threading.RLock()
        self._entry_points_loaded = False
        self._tables: dict[str, dict[str, list[_Provider]]] = {}
        self.plugins: dict[str, PluginInfo] = {}
        for name in BUILTIN_PLUGINS:
            self._manager.register(importlib.import_module(name), name=name)
            self.plugins[name] = PluginInfo(name, builtin=True)

    @property
    def entry_points_loaded(self) -> bool:
        return self._entry_points_loaded

    def load_entry_points(self) -> None:
        """Load every installed plugin once, each on its own; failures are recorded in :attr:`plugins`."""
        with self._lock:
            if self._entry_points_loaded:
                return
            self._entry_points_loaded = True
            self._tables.clear()
            for entry_point in self._entry_points():
                self._load_entry_point(entry_point)

    def _load_entry_point(self, entry_point: metadata.EntryPoint) -> None:
        dist = getattr(entry_point, "dist", None)
        info = PluginInfo(
            entry_point.name,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
        )
        if entry_point.name in self.plugins:
            info.error = DuplicateBackendError(
                f"plugin name {entry_point.name!r} is already taken by {self.plugins[entry_point.name].origin}"
            )
            self.plugins[f"{entry_point.name} ({info.origin})"] = info
            return
        self.plugins[entry_point.name] = info
        if entry_point.name in self._disabled:
            info.disabled = True
            return
        try:
            self._register(entry_point.load(), entry_point.name)
        except Exception as err:  # a broken plugin must never break the others
            info.error = err

    def _register(self, plugin: object, name: str) -> None:
        declared = getattr(plugin, "EBONITE_PLUGIN_API", hookspecs.PLUGIN_API_VERSION)
        if declared != hookspecs.PLUGIN_API_VERSION:
            raise IncompatiblePluginError(
                f"plugin {name!r} was written for plugin API {declared!r}; this ebonite-core provides "
                f"{hookspecs.PLUGIN_API_VERSION}. Install a version of the plugin that matches your ebonite-core."
            )
        self._manager.register(plugin, name=name)
        try:
            self._manager.check_pending()
        except Exception:
            self._manager.unregister(name=name)
            raise

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object (a module or any object with ``@hookimpl`` functions) by hand.

        For notebooks and tests: it works like an installed plugin without packaging one. Errors raise here.
        """
        with self._lock:
            if name in self.plugins:
                raise DuplicateBackendError(f"plugin name {name!r} is already taken by {self.plugins[name].origin}")
            self._register(plugin, name)
            self.plugins[name] = PluginInfo(name, distribution=None)
            self._tables.clear()

    def _table(self, kind: str) -> dict[str, list[_Provider]]:
        """``{type name: [providers]}`` for one kind, built from every registered plugin's hook."""
        with self._lock:
            if kind in self._tables:
                return self._tables[kind]
            hook_name, _, base = KINDS[kind]
            attribute = NAME_ATTRIBUTES.get(kind, "type")
            table: dict[str, list[_Provider]] = {}
            for implementation in getattr(self._manager.hook, hook_name).get_hookimpls():
                info = self.plugins[implementation.plugin_name]
                try:
                    classes = list(implementation.function() or ())
                    for cls in classes:
                        if not (isinstance(cls, type) and issubclass(cls, base)):
                            raise TypeError(f"{hook_name}() returned {cls!r}, which is not a {base.__name__}")
                        type_name = getattr(cls, attribute, None)
                        if not isinstance(type_name, str) or not type_name:
                            raise TypeError(f"{cls.__qualname__} has no `{attribute}` name (a non-empty str)")
                except Exception as err:
                    info.error = err
                    continue
                for cls in classes:
                    name = getattr(cls, attribute)
                    table.setdefault(name, []).append(_Provider(cls, implementation.plugin_name))
                    info.types.setdefault(kind, []).append(name)
            self._tables[kind] = table
            return table

    def resolve(self, kind: Kind, type_name: str) -> type[Any]:
        """The class that provides ``type_name``; loads installed plugins only if no loaded one provides it.

        Raises :class:`UnknownBackendError` (naming the installed types and the package to install) or
        :class:`DuplicateBackendError` (naming both classes).
        """
        providers = self._table(kind).get(type_name)
        if not providers and not self._entry_points_loaded:
            self.load_entry_points()
            providers = self._table(kind).get(type_name)
        if not providers:
            raise self._unknown(kind, type_name)
        if len(providers) > 1:
            raise self._duplicate(kind, type_name, providers)
        return providers[0].cls

    def available(self, kind: Kind) -> dict[str, type[Any]]:
        """Every type of one kind that exactly one plugin provides, after loading installed plugins."""
        self.load_entry_points()
        return {name: providers[0].cls for name, providers in self._table(kind).items() if len(providers) == 1}

    def commands(self) -> dict[str, type[Any]]:
        """Every ``ebonite`` subcommand by name, after loading installed plugins.

        A built-in command always wins over a plugin's command of the same name, and two plugins' commands
        of one name are both left out; :meth:`conflicts` reports either case.
        """
        self.load_entry_points()
        commands = {}
        for name, providers in self._table("command").items():
            builtin = [provider for provider in providers if self.plugins[provider.plugin].builtin]
            if builtin or len(providers) == 1:
                commands[name] = (builtin or providers)[0].cls
        return commands

    def conflicts(self) -> list[DuplicateBackendError]:
        """Every type claimed by more than one class, after loading installed plugins."""
        self.load_entry_points()
        return [
            self._duplicate(kind, name, providers)
            for kind in KINDS
            for name, providers in self._table(kind).items()
            if len(providers) > 1
        ]

    def report(self) -> list[PluginInfo]:
        """Every plugin, built-in and installed, with the types it provides and any load failure."""
        self.load_entry_points()
        for kind in KINDS:
            self._table(kind)
        return list(self.plugins.values())

    def _unknown(self, kind: str, type_name: str) -> UnknownBackendError:
        label = KINDS[kind][1]
        installed = ", ".join(sorted(self._table(kind))) or "none"
        known = [*self._table(kind), *(name for hint_kind, name in INSTALL_HINTS if hint_kind == kind)]
        meant = closest(type_name, [name for name in known if name != type_name])
        message = f"Unknown {label} type {type_name!r}"
        message += f" (did you mean {meant!r}?)." if meant else "."
        message += f" Installed {label} types: {installed}."
        package = INSTALL_HINTS.get((kind, type_name))
        if package is None and meant is not None and meant not in self._table(kind):
            type_name, package = meant, INSTALL_HINTS.get((kind, meant))
        failed = [info for info in self.plugins.values() if info.error is not None]
        disabled = [info.name for info in self.plugins.values() if info.disabled]
        if package and any(info.distribution == package for info in failed):
            message += f" The {package} package is installed but its plugin failed to load (see below)."
        elif package and any(info.distribution == package and info.disabled for info in self.plugins.values()):
            message += f" The {package} package is installed but disabled by {DISABLE_VARIABLE}."
        elif package:
            message += f" The {type_name!r} type is provided by the {package} package: pip install {package}."
        if failed:
            message += " Plugins that failed to load: " + "; ".join(info.describe_error() for info in failed)
        if disabled:
            message += f" Plugins disabled by {DISABLE_VARIABLE}: {', '.join(disabled)}."
        error = UnknownBackendError(message)
        if failed:
            error.__cause__ = failed[0].error
        return error

    @staticmethod
    def _duplicate(kind: str, type_name: str, providers: list[_Provider]) -> DuplicateBackendError:
        claims = " and ".join(f"{provider.qualified_name} (plugin {provider.plugin!r})" for provider in providers)
        return DuplicateBackendError(
            f"The {KINDS[kind][1]} {NAME_ATTRIBUTES.get(kind, 'type')} {type_name!r} is claimed by {claims}. "
            "Uninstall one of them, "
            f"or keep one from loading with {DISABLE_VARIABLE}=<plugin name>."
        )


_default_registry: PluginRegistry | None = None
_default_lock = threading.Lock()


def get_registry() -> PluginRegistry:
    """The process-wide registry, created on first use."""
    global _default_registry
    with _default_lock:
        if _default_registry is None:
            _default_registry = PluginRegistry()
        return _default_registry


def resolve(kind: Kind, type_name: str) -> type[Any]:
    """Resolve a type name with the process-wide registry; see :meth:`PluginRegistry.resolve`."""
    return get_registry().resolve(kind, type_name)
