"""The load gate: formats recorded at push, code-running formats refused before anything is read when the
client does not allow them, hand-edited metadata refused; pickle keeps the serializer contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli

from ebonite_core import ConfigError, Ebonite, ModelSerializer, PickleSerializer, UnsafeModelError, hookimpl
from ebonite_core.plugins import get_registry
from ebonite_core.testing import ScaleModel, SerializerContract
from ebonite_core.testing.serializer import MarkerPayload

SAMPLE = [1.0, 2.0]


class TestPickleSerializer(SerializerContract):
    serializer = PickleSerializer
    required_distributions = ("ebonite-core",)  # ScaleModel's distribution

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        return ScaleModel(1.5), SAMPLE


class Lookup(dict):
    def predict(self, keys: list[str]) -> list[Any]:
        return [self[key] for key in keys]


class JsonLookupSerializer(ModelSerializer):
    """A safe serializer: json.loads runs no code."""

    type = "test-lookup-json"
    priority = 10
    safe = True

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        return isinstance(obj, Lookup)

    def modules(self, obj: Any) -> set[str]:
        return set()

    def dump(self, obj: Any, open_file: Any) -> dict[str, Any]:
        with open_file("lookup.json") as file:
            file.write(json.dumps(obj).encode())
        return {"keys": len(obj)}

    def load(self, open_file: Any, details: Any) -> Any:
        with open_file("lookup.json") as file:
            return Lookup(json.loads(file.read()))


class _LookupPlugin:
    @hookimpl
    def ebonite_model_serializers(self) -> list[type[ModelSerializer]]:
        return [JsonLookupSerializer]


@pytest.fixture(scope="module", autouse=True)
def lookup_serializer() -> None:
    registry = get_registry()
    if "test-lookup" not in registry.plugins:  # it only takes Lookup objects: harmless to other tests
        registry.register(_LookupPlugin(), "test-lookup")


@pytest.fixture(autouse=True)
def no_environment_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EBONITE_ALLOW_PICKLE", raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / ".ebonite"


def _edit_model(store: Path, name: str, **changes: Any) -> None:
    """Edit a model's entry in the local metadata file, as someone with write access to it could."""
    path = store / "metadata.json"
    state = json.loads(path.read_text())
    (row,) = [row for row in state["models"].values() if row["name"] == name]
    row.update(changes)
    path.write_text(json.dumps(state))


def test_a_push_records_the_format_and_its_safety(store: Path) -> None:
    ebnt = Ebonite.local(store)
    task = ebnt.get_or_create_task("p", "t")
    pickled = task.create_and_push_model(ScaleModel(), SAMPLE, "pickled")
    safe = task.create_and_push_model(Lookup(a=1), ["a"], "safe")
    assert pickled.format == {"safe": False, "details": {}}
    assert safe.serializer == "test-lookup-json" and safe.format == {"safe": True, "details": {"keys": 1}}
    assert ebnt.get_model("safe", task).format == safe.format


def test_a_refusing_client_never_deserializes_a_pickled_model(store: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    Ebonite.local(store).create_model(MarkerPayload(marker), SAMPLE, "tripwire", project_name="p", task_name="t")
    refusing = Ebonite.local(store, allow_pickle=False)
    with pytest.raises(UnsafeModelError) as refused:
        refusing.get_model("tripwire", "t", "p").load()
    message = str(refused.value)
    assert "'tripwire'" in message and "'pickle'" in message and "allow_pickle=True" in message
    assert "EBONITE_ALLOW_PICKLE=1" in message and isinstance(refused.value, PermissionError)
    assert not marker.exists()
    # The payload is live: a client that allows pickle runs it. The gate, not luck, kept it from running.
    Ebonite.local(store).get_model("tripwire", "t", "p").load()
    assert marker.exists()


def test_safe_models_load_where_pickle_is_refused(store: Path) -> None:
    Ebonite.local(store).create_model(Lookup(a=1, b=2), ["a"], "lookup", project_name="p", task_name="t")
    model = Ebonite.local(store, allow_pickle=False).get_model("lookup", "t", "p")
    assert model.predict(["b", "a"]) == [2, 1]


def test_metadata_claiming_a_safe_format_over_a_pickle_file_is_refused(store: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    Ebonite.local(store).create_model(MarkerPayload(marker), SAMPLE, "tripwire", project_name="p", task_name="t")
    refusing = Ebonite.local(store, allow_pickle=False)
    # The format claimed safe, serializer left as pickle: the pickle class declares itself unsafe.
    _edit_model(store, "tripwire", format={"safe": True, "details": {}})
    with pytest.raises(UnsafeModelError, match="records the format 'pickle' as safe"):
        refusing.get_model("tripwire", "t", "p").load()
    # A safe serializer named over the pickle file (renamed as its file): its loader reads JSON and never
    # falls back to pickle.
    stored = refusing.get_model("tripwire", "t", "p")
    directory = refusing.artifact_repo.root / stored.artifact_key
    (directory / "model.pkl").rename(directory / "lookup.json")
    manifest = [{**stored.artifacts[0].to_dict(), "name": "lookup.json"}]
    _edit_model(store, "tripwire", serializer="test-lookup-json", artifacts=manifest)
    with pytest.raises(ValueError):  # json's JSONDecodeError / UnicodeDecodeError
        refusing.get_model("tripwire", "t", "p").load()
    assert not marker.exists()


def test_a_model_without_a_recorded_format_needs_pickle_allowed(store: Path) -> None:
    """Models pushed before formats were recorded: their serializer's word alone is not enough."""
    Ebonite.local(store).create_model(Lookup(a=1), ["a"], "old", project_name="p", task_name="t")
    _edit_model(store, "old", format={})
    with pytest.raises(UnsafeModelError, match="does not record 'test-lookup-json' as a safe format"):
        Ebonite.local(store, allow_pickle=False).get_model("old", "t", "p").load()
    assert Ebonite.local(store).get_model("old", "t", "p").predict(["a"]) == [1]


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("false", False), ("1", True), ("yes", True)])
def test_the_environment_variable_sets_the_default(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("EBONITE_ALLOW_PICKLE", value)
    assert Ebonite.inmemory().allow_pickle is expected
    assert Ebonite.inmemory(allow_pickle=not expected).allow_pickle is not expected  # an argument wins


def test_a_bad_environment_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBONITE_ALLOW_PICKLE", "maybe")
    with pytest.raises(ConfigError, match="EBONITE_ALLOW_PICKLE must be true or false"):
        Ebonite.inmemory()


def test_pickle_is_allowed_by_default() -> None:
    assert Ebonite.inmemory().allow_pickle is True


def test_the_config_file_setting_is_read_and_written_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "ebonite.toml"
    config.write_text(
        'allow_pickle = false\n\n[metadata]\ntype = "local"\npath = "m.json"\n\n[artifact]\ntype = "local"\n'
    )
    monkeypatch.setenv("EBONITE_ALLOW_PICKLE", "1")  # the file is more specific than the environment
    ebnt = Ebonite.from_config(config)
    assert ebnt.allow_pickle is False
    ebnt.save_config(tmp_path / "copy.json")
    assert json.loads((tmp_path / "copy.json").read_text())["allow_pickle"] is False
    ebnt.save_config(tmp_path / "copy.toml")
    assert Ebonite.from_config(tmp_path / "copy.toml").allow_pickle is False
    monkeypatch.delenv("EBONITE_ALLOW_PICKLE")
    Ebonite.from_config(config).save_config(tmp_path / "plain.json")
    with pytest.raises(ConfigError, match="allow_pickle must be true or false"):
        Ebonite.from_config({**json.loads((tmp_path / "plain.json").read_text()), "allow_pickle": "sometimes"})
    unset = Ebonite.local(tmp_path / "other")
    unset.save_config(tmp_path / "unset.json")
    assert "allow_pickle" not in json.loads((tmp_path / "unset.json").read_text())


def test_show_prints_the_format_and_verify_safe_lists_unsafe_models(cli: Cli, tmp_path: Path) -> None:
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    task = ebnt.get_or_create_task("p", "t")
    task.create_and_push_model(ScaleModel(), SAMPLE, "pickled")
    shown = cli("show", "p/t/pickled")
    assert shown.returncode == 0, shown.stderr
    assert "format:       pickle: loading runs code from the file" in shown.stdout
    assert cli("verify").returncode == 0
    listed = cli("verify", "--safe")
    assert listed.returncode == 1
    assert [line.split()[:2] for line in listed.stdout.splitlines() if line.startswith("unsafe")] == [
        ["unsafe", "p/t/pickled"]
    ]
    assert "1 unsafe" in listed.stdout
    problems = json.loads(cli("verify", "--safe", "--json").stdout)["problems"]
    assert [(problem["kind"], problem["path"]) for problem in problems] == [("unsafe", "p/t/pickled")]
