"""Plugin discovery: built-ins without entry points, installed plugins on demand, failures isolated."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import ebonite_core
from ebonite_core import DuplicateBackendError, Ebonite, UnknownBackendError, hookimpl
from ebonite_core.errors import IncompatiblePluginError
from ebonite_core.plugins import PluginRegistry
from ebonite_core.repository.inmemory import InMemoryArtifactRepository
from ebonite_core.repository.local_metadata import LocalMetadataRepository
from ebonite_core.testing import ArtifactRepositoryContract, ScaleModel

GOOD_PLUGIN = """
from ebonite_core import hookimpl, InMemoryArtifactRepository

class FakeArtifactRepository(InMemoryArtifactRepository):
    type = "fake"

@hookimpl
def ebonite_artifact_repositories():
    return [FakeArtifactRepository]
"""

CLAIMS_LOCAL_PLUGIN = """
from ebonite_core import hookimpl, InMemoryMetadataRepository

class ImpostorMetadataRepository(InMemoryMetadataRepository):
    type = "local"

@hookimpl
def ebonite_metadata_repositories():
    return [ImpostorMetadataRepository]
"""

BROKEN_PLUGIN = """
import a_module_that_is_not_installed
"""

FUTURE_API_PLUGIN = """
from ebonite_core import hookimpl, InMemoryArtifactRepository

EBONITE_PLUGIN_API = 99

class FutureArtifactRepository(InMemoryArtifactRepository):
    type = "future"

@hookimpl
def ebonite_artifact_repositories():
    return [FutureArtifactRepository]
"""

BAD_HOOK_PLUGIN = """
from ebonite_core import hookimpl

@hookimpl
def ebonite_artifact_repositories():
    return ["not a class"]
"""


@pytest.fixture
def plugin_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write plugin modules into a directory on sys.path; return a factory of entry points naming them."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def entry_point(name: str, source: str) -> EntryPoint:
        module = f"fake_plugin_{name}_{len(written)}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        written.append(module)
        return EntryPoint(name=name, value=module, group="ebonite")

    yield entry_point
    for module in written:
        sys.modules.pop(module, None)


def registry_with(*entry_points: EntryPoint, disabled: tuple[str, ...] = ()) -> tuple[PluginRegistry, list[int]]:
    scans: list[int] = []

    def scan():
        scans.append(1)
        return list(entry_points)

    return PluginRegistry(entry_points=scan, disabled=disabled), scans


def test_builtin_types_resolve_without_scanning_entry_points(plugin_modules) -> None:
    registry, scans = registry_with(plugin_modules("good", GOOD_PLUGIN))
    assert registry.resolve("metadata", "local") is LocalMetadataRepository
    assert registry.resolve("artifact", "inmemory") is InMemoryArtifactRepository
    assert registry.resolve("serializer", "pickle").type == "pickle"
    assert scans == []


def test_installed_plugin_loads_when_its_type_is_first_asked_for(plugin_modules) -> None:
    registry, scans = registry_with(plugin_modules("good", GOOD_PLUGIN))
    cls = registry.resolve("artifact", "fake")
    assert cls.type == "fake" and cls.__name__ == "FakeArtifactRepository"
    registry.resolve("artifact", "fake")
    assert scans == [1], "entry points are scanned once"


def test_unknown_type_names_installed_types_and_the_package_to_install(plugin_modules) -> None:
    registry, _ = registry_with(plugin_modules("good", GOOD_PLUGIN))
    with pytest.raises(UnknownBackendError) as raised:
        registry.resolve("artifact", "s3")
    message = str(raised.value)
    assert "Unknown artifact repository type 's3'." in message, "the type itself is no suggestion"
    assert "fake, inmemory, local" in message
    assert "pip install ebonite-s3" in message
    with pytest.raises(UnknownBackendError, match="pip install ebonite-sqlalchemy"):
        registry.resolve("metadata", "sqlalchemy")
    with pytest.raises(UnknownBackendError) as raised:
        registry.resolve("metadata", "nosuchtype")
    assert "pip install" not in str(raised.value) and "did you mean" not in str(raised.value)
    assert isinstance(raised.value, LookupError)


@pytest.mark.parametrize(
    ("kind", "asked", "fragments"),
    [
        ("artifact", "S3", ["type 'S3' (did you mean 's3'?)", "pip install ebonite-s3"]),
        ("metadata", "sqlalchmy", ["type 'sqlalchmy' (did you mean 'sqlalchemy'?)", "pip install ebonite-sqlalchemy"]),
        ("artifact", "Fake", ["type 'Fake' (did you mean 'fake'?)", "fake, inmemory, local"]),
        ("artifact", "inmemroy", ["(did you mean 'inmemory'?)"]),
    ],
)
def test_a_mistyped_type_names_the_closest_one(plugin_modules, kind: str, asked: str, fragments: list[str]) -> None:
    """Installed types and first-party types not installed both count as what was meant."""
    registry, _ = registry_with(plugin_modules("good", GOOD_PLUGIN))
    with pytest.raises(UnknownBackendError) as raised:
        registry.resolve(kind, asked)  # type: ignore[arg-type]
    assert isinstance(raised.value, LookupError)
    for fragment in fragments:
        assert fragment in str(raised.value)
    if "pip install" not in fragments[-1]:
        assert "pip install" not in str(raised.value)


def test_a_plugin_that_fails_to_import_is_reported_and_others_still_work(plugin_modules) -> None:
    registry, _ = registry_with(plugin_modules("broken", BROKEN_PLUGIN), plugin_modules("good", GOOD_PLUGIN))
    assert registry.resolve("artifact", "fake").type == "fake"
    with pytest.raises(UnknownBackendError) as raised:
        registry.resolve("artifact", "missing")
    message = str(raised.value)
    assert "plugin 'broken'" in message and "a_module_that_is_not_installed" in message
    assert isinstance(raised.value.__cause__, ImportError)
    report = {info.name: info for info in registry.report()}
    assert isinstance(report["broken"].error, ImportError)
    assert report["good"].error is None and report["good"].types == {"artifact": ["fake"]}


def test_a_hook_returning_something_else_than_a_backend_class_is_reported(plugin_modules) -> None:
    registry, _ = registry_with(plugin_modules("badhook", BAD_HOOK_PLUGIN), plugin_modules("good", GOOD_PLUGIN))
    assert registry.resolve("artifact", "fake").type == "fake"
    report = {info.name: info for info in registry.report()}
    assert "not a ArtifactRepository" in str(report["badhook"].error)


def test_two_classes_claiming_one_type_is_an_error_naming_both(plugin_modules) -> None:
    registry, _ = registry_with(plugin_modules("impostor", CLAIMS_LOCAL_PLUGIN))
    assert registry.resolve("metadata", "local") is LocalMetadataRepository  # entry points not loaded yet
    registry.load_entry_points()
    with pytest.raises(DuplicateBackendError) as raised:
        registry.resolve("metadata", "local")
    message = str(raised.value)
    assert "ebonite_core.repository.local_metadata.LocalMetadataRepository" in message
    assert "ImpostorMetadataRepository" in message and "plugin 'impostor'" in message
    assert [str(error) for error in registry.conflicts()] == [message]
    assert registry.resolve("artifact", "local").type == "local", "other types are not affected"


def test_disabled_plugins_do_not_load(plugin_modules) -> None:
    registry, _ = registry_with(
        plugin_modules("impostor", CLAIMS_LOCAL_PLUGIN), plugin_modules("good", GOOD_PLUGIN), disabled=("impostor",)
    )
    registry.load_entry_points()
    assert registry.resolve("metadata", "local") is LocalMetadataRepository
    assert registry.resolve("artifact", "fake").type == "fake"
    with pytest.raises(UnknownBackendError, match="disabled by EBONITE_DISABLE_PLUGINS: impostor"):
        registry.resolve("metadata", "impostor-type")


def test_a_plugin_for_another_plugin_api_is_refused_with_a_clear_error(plugin_modules) -> None:
    registry, _ = registry_with(plugin_modules("future", FUTURE_API_PLUGIN), plugin_modules("good", GOOD_PLUGIN))
    with pytest.raises(UnknownBackendError, match="written for plugin API 99; this ebonite-core provides 1") as raised:
        registry.resolve("artifact", "future")
    assert isinstance(raised.value.__cause__, IncompatiblePluginError)
    assert registry.resolve("artifact", "fake").type == "fake"


def test_plugins_can_be_registered_by_hand() -> None:
    class Plugin:
        class HandMadeRepository(InMemoryArtifactRepository):
            type = "handmade"

        @hookimpl
        def ebonite_artifact_repositories(self):
            return [self.HandMadeRepository]

    registry, scans = registry_with()
    registry.register(Plugin(), "handmade")
    assert registry.resolve("artifact", "handmade") is Plugin.HandMadeRepository
    assert scans == []
    with pytest.raises(DuplicateBackendError, match="already taken"):
        registry.register(Plugin(), "handmade")


def test_the_installed_dummy_plugin_resolves_through_its_real_entry_point() -> None:
    """tests/plugins/ebonite-dummy is pip-installed by `make test`; nothing here imports it."""
    ebnt = Ebonite.custom_client("inmemory", "dummy", artifact_kwargs={"label": "from-entry-point"})
    assert type(ebnt.artifact_repo).__module__ == "ebonite_dummy.backend"
    assert ebnt.artifact_repo.label == "from-entry-point"
    task = ebnt.get_or_create_task("p", "t")
    task.create_and_push_model(ScaleModel(3.0), [1.0, 2.0], "scale")
    assert ebnt.get_model("scale", task).predict([1.0]) == [3.0]


def test_an_installed_serializer_is_chosen_by_priority_and_used_to_load() -> None:
    from ebonite_dummy.backend import Echo  # the model class; its serializer is found through the entry point

    ebnt = Ebonite.inmemory()
    model = ebnt.create_model(Echo("hello"), [1, 2], "echo")
    assert model.serializer == "echo"
    assert [artifact.name for artifact in model.artifacts] == ["echo.txt"]
    assert model.requirements == {"ebonite-dummy": "0.0.1"}
    assert ebnt.get_model("echo", "default_task", "default_project").predict([0]) == ["hello"]
    assert ebnt.create_model(ScaleModel(), [1.0], "scale").serializer == "pickle"


class TestDummyPluginArtifacts(ArtifactRepositoryContract):
    """The contract suite, run against a backend found only through its entry point."""

    large_file_size = 2 * 1024 * 1024
    supports_reopen = False  # in-memory files
    supports_concurrent_processes = False

    @pytest.fixture
    def artifact_repository(self):
        from ebonite_core.plugins import resolve

        return resolve("artifact", "dummy")()

    @pytest.fixture
    def foreign_entries(self, repo):
        from test_builtin_backends import InMemoryForeignEntries

        return InMemoryForeignEntries(repo)


def test_custom_client_unknown_type_error() -> None:
    with pytest.raises(UnknownBackendError, match=r"Installed artifact repository types: .*dummy, .*inmemory, local"):
        Ebonite.custom_client("inmemory", "nosuchtype")


def test_a_disabled_first_party_plugin_is_named_as_disabled_not_missing(plugin_modules) -> None:
    entry_point = plugin_modules("s3", GOOD_PLUGIN)
    registry, _ = registry_with(entry_point, disabled=("s3",))
    registry.load_entry_points()
    registry.plugins["s3"].distribution = "ebonite-s3"  # as an installed ebonite-s3 would report
    with pytest.raises(UnknownBackendError) as raised:
        registry.resolve("artifact", "s3")
    assert "ebonite-s3 package is installed but disabled by EBONITE_DISABLE_PLUGINS" in str(raised.value)
    assert "pip install" not in str(raised.value)


def test_importing_the_package_loads_no_plugin_and_no_driver() -> None:
    code = textwrap.dedent(
        """
        import importlib.metadata, sys
        def forbidden(*args, **kwargs):
            raise AssertionError("entry points scanned at import time")
        importlib.metadata.entry_points = forbidden
        del sys.modules["importlib.metadata"]  # so that a fresh import would also be visible below
        import ebonite_core
        loaded = [name for name in ("importlib.metadata", "ebonite_dummy", "ebonite_s3", "ebonite_sqlalchemy",
                                    "boto3", "botocore", "sqlalchemy", "filelock", "ebonite_core.cli",
                                    "ebonite_core.builtins", "ebonite_core.maintenance", "tqdm", "argparse")
                  if name in sys.modules]
        print(loaded)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_public_names_match_all() -> None:
    public = {
        name
        for name, value in vars(ebonite_core).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public | {"__version__"} == set(ebonite_core.__all__)
    assert all(hasattr(ebonite_core, name) for name in ebonite_core.__all__)
