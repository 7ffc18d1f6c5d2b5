"""Client configuration: from_config, save_config, from_env, environment references, secrets kept out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the backport ebonite-core depends on there
    import tomli as tomllib  # type: ignore[no-redef]

from ebonite_core import (
    ArtifactRepository,
    ConfigError,
    Ebonite,
    InMemoryArtifactRepository,
    InMemoryMetadataRepository,
    LocalArtifactRepository,
    LocalMetadataRepository,
    UnknownBackendError,
)
from ebonite_core.config import mask_secrets, toml_dumps
from ebonite_core.masking import is_secret_name
from ebonite_core.testing import ScaleModel

LOCAL_TOML = """
[metadata]
type = "local"
path = "store/metadata.json"

[artifact]
type = "local"
path = "store/artifacts"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_toml_file_builds_the_client_with_paths_relative_to_the_file(tmp_path: Path, monkeypatch) -> None:
    config = write(tmp_path / "conf" / "ebonite.toml", LOCAL_TOML)
    monkeypatch.chdir(tmp_path)  # not the file's directory
    ebnt = Ebonite.from_config(config)
    assert isinstance(ebnt.meta_repo, LocalMetadataRepository)
    assert ebnt.meta_repo.path == tmp_path / "conf" / "store" / "metadata.json"
    assert ebnt.artifact_repo.root == tmp_path / "conf" / "store" / "artifacts"
    ebnt.create_model(ScaleModel(2.0), [1.0], "scale")
    again = Ebonite.local(tmp_path / "conf" / "store")
    assert again.get_model("scale", "default_task", "default_project").predict([1.0]) == [2.0]


def test_a_json_file_and_a_mapping_work_too(tmp_path: Path) -> None:
    document = {"metadata": {"type": "inmemory"}, "artifact": {"type": "dummy", "label": "from-json"}}
    ebnt = Ebonite.from_config(write(tmp_path / "c.json", json.dumps(document)))
    assert isinstance(ebnt.meta_repo, InMemoryMetadataRepository) and ebnt.artifact_repo.label == "from-json"
    ebnt = Ebonite.from_config(document)
    assert ebnt.artifact_repo.label == "from-json"


def test_relative_paths_in_a_mapping_are_relative_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    ebnt = Ebonite.from_config({"metadata": {"type": "local", "path": "m.json"}, "artifact": {"type": "local"}})
    assert ebnt.meta_repo.path == tmp_path / "m.json"
    assert ebnt.artifact_repo.root == tmp_path / ".ebonite" / "artifacts"


def test_environment_references_are_expanded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EBONITE_TEST_LABEL", "from-env")
    monkeypatch.delenv("EBONITE_TEST_UNSET", raising=False)
    monkeypatch.setenv("EBONITE_TEST_EMPTY", "")
    artifact = {
        "type": "dummy",
        "label": "${EBONITE_TEST_LABEL}/${EBONITE_TEST_UNSET:-fallback}/${EBONITE_TEST_EMPTY:-empty}/$${literal}",
    }
    ebnt = Ebonite.from_config({"metadata": {"type": "inmemory"}, "artifact": artifact})
    assert ebnt.artifact_repo.label == "from-env/fallback/empty/${literal}"


def test_a_missing_environment_variable_is_named(monkeypatch) -> None:
    monkeypatch.delenv("EBONITE_TEST_UNSET", raising=False)
    config = {"metadata": {"type": "inmemory"}, "artifact": {"type": "dummy", "label": "${EBONITE_TEST_UNSET}"}}
    with pytest.raises(ConfigError, match=r"artifact\.label refers to the environment variable EBONITE_TEST_UNSET"):
        Ebonite.from_config(config)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.toml", None, "does not exist"),
        ("c.yaml", "metadata: {}", "must end in .json or .toml"),
        ("c.toml", "[metadata\ntype = 1", "is not valid TOML"),
        ("c.json", "{", "is not valid JSON"),
        ("c.json", "[]", "must hold a table"),
        ("c.toml", '[metadata]\ntype = "local"\n', "needs a 'artifact' table with a 'type'"),
        ("c.toml", LOCAL_TOML + "[extra]\na = 1\n", "unknown sections ['extra']"),
        ("c.toml", LOCAL_TOML.replace('path = "store/artifacts"', "colour = 3"), "does not take the option 'colour'"),
    ],
)
def test_unusable_configs_raise_config_error(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        write(path, content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Ebonite.from_config(path)


def test_an_unknown_type_names_the_installed_ones() -> None:
    with pytest.raises(UnknownBackendError, match=r"Installed artifact repository types: .*inmemory, local"):
        Ebonite.from_config({"metadata": {"type": "inmemory"}, "artifact": {"type": "nosuch"}})


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_save_config_round_trips(tmp_path: Path, suffix: str) -> None:
    ebnt = Ebonite.local(tmp_path / "registry")
    ebnt.create_model(ScaleModel(3.0), [1.0], "scale")
    config = tmp_path / f"ebonite{suffix}"
    assert ebnt.save_config(config) == []
    text = config.read_text()
    assert str(tmp_path) not in text, "paths inside the file's directory are written relative to it"
    moved = tmp_path / "moved"
    (tmp_path / "registry").rename(tmp_path / "tmp-registry")
    moved.mkdir()
    (tmp_path / "tmp-registry").rename(moved / "registry")
    config.rename(moved / config.name)
    again = Ebonite.from_config(moved / config.name)
    assert again.get_model("scale", "default_task", "default_project").predict([1.0]) == [3.0]


def test_options_other_than_the_path_are_written_when_not_default(tmp_path: Path) -> None:
    ebnt = Ebonite.local(tmp_path / "registry", durable=False)
    ebnt.save_config(tmp_path / "c.json")
    document = json.loads((tmp_path / "c.json").read_text())
    assert document["metadata"] == {"type": "local", "path": "registry/metadata.json", "durable": False}
    assert document["artifact"] == {"type": "local", "path": "registry/artifacts", "durable": False}
    again = Ebonite.from_config(tmp_path / "c.json")
    assert not again.meta_repo.durable and not again.artifact_repo.durable


def test_paths_outside_the_file_directory_are_written_absolute(tmp_path: Path) -> None:
    ebnt = Ebonite.local(tmp_path / "registry")
    config = tmp_path / "sub" / "ebonite.json"
    config.parent.mkdir()
    ebnt.save_config(config)
    document = json.loads(config.read_text())
    assert document["metadata"] == {"type": "local", "path": str(tmp_path / "registry" / "metadata.json")}
    assert Ebonite.from_config(config).artifact_repo.root == tmp_path / "registry" / "artifacts"


def test_secrets_are_masked_unless_asked(tmp_path: Path, monkeypatch) -> None:
    url = "https://reader:p%40ss@store.example.com/x"
    ebnt = Ebonite.custom_client(
        "inmemory", "dummy", artifact_kwargs={"label": "key_prefix-like", "url": url, "token": "tok-123"}
    )
    config = tmp_path / "ebonite.toml"
    needed = ebnt.save_config(config)
    text = config.read_text()
    assert "tok-123" not in text and "p%40ss" not in text
    assert tomllib.loads(text)["artifact"] == {
        "type": "dummy",
        "label": "key_prefix-like",
        "url": "https://reader:${EBONITE_ARTIFACT_URL_PASSWORD}@store.example.com/x",
        "token": "${EBONITE_ARTIFACT_TOKEN}",
    }
    assert needed == ["EBONITE_ARTIFACT_URL_PASSWORD", "EBONITE_ARTIFACT_TOKEN"]

    monkeypatch.setenv("EBONITE_ARTIFACT_URL_PASSWORD", "p%40ss")
    monkeypatch.setenv("EBONITE_ARTIFACT_TOKEN", "tok-123")
    loaded = Ebonite.from_config(config)
    assert (loaded.artifact_repo.url, loaded.artifact_repo.token) == (url, "tok-123")

    clear = tmp_path / "clear.json"
    assert ebnt.save_config(clear, include_secrets=True) == []
    assert json.loads(clear.read_text())["artifact"]["token"] == "tok-123"


def test_references_read_from_a_file_are_written_back(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EBONITE_TEST_TOKEN", "tok-456")
    monkeypatch.setenv("EBONITE_TEST_PW", "pw")
    source = write(
        tmp_path / "in.toml",
        '[metadata]\ntype = "inmemory"\n[artifact]\ntype = "dummy"\ntoken = "${EBONITE_TEST_TOKEN}"\n'
        'url = "https://u:${EBONITE_TEST_PW}@h/x"\nlabel = "costs $${5}"\n',
    )
    ebnt = Ebonite.from_config(source)
    assert ebnt.artifact_repo.token == "tok-456" and ebnt.artifact_repo.label == "costs ${5}"
    assert ebnt.save_config(tmp_path / "out.toml") == []
    written = tomllib.loads((tmp_path / "out.toml").read_text())["artifact"]
    assert written["token"] == "${EBONITE_TEST_TOKEN}" and written["url"] == "https://u:${EBONITE_TEST_PW}@h/x"
    assert written["label"] == "costs $${5}", "a literal ${ is escaped so that it reads back the same"
    ebnt.artifact_repo.token = "changed"  # no longer what the reference gives: masked like any secret
    ebnt.save_config(tmp_path / "out.toml")
    assert tomllib.loads((tmp_path / "out.toml").read_text())["artifact"]["token"] == "${EBONITE_ARTIFACT_TOKEN}"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("db_password", True),
        ("aws_secret_access_key", True),
        ("secretKey", True),
        ("token", True),
        ("api_key", True),
        ("key", True),
        ("key_prefix", False),
        ("aws_access_key_id", False),
        ("token_file", False),
        ("bucket_name", False),
        ("path", False),
        ("keyboard", False),
    ],
)
def test_secret_option_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_a_repository_without_config_cannot_be_saved(tmp_path: Path) -> None:
    class Opaque(InMemoryArtifactRepository):
        type = "opaque"
        config = ArtifactRepository.config  # the ABC's default

    with pytest.raises(NotImplementedError, match=r"'opaque'.*needs a config\(\) method"):
        Ebonite(InMemoryMetadataRepository(), Opaque()).save_config(tmp_path / "c.toml")
    assert not (tmp_path / "c.toml").exists()


def test_from_env_reads_ebonite_config_or_uses_the_local_store(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EBONITE_CONFIG", raising=False)
    default = Ebonite.from_env()
    assert default.meta_repo.path == tmp_path / ".ebonite" / "metadata.json"
    assert isinstance(default.artifact_repo, LocalArtifactRepository)
    monkeypatch.setenv("EBONITE_CONFIG", str(write(tmp_path / "elsewhere" / "c.toml", LOCAL_TOML)))
    assert Ebonite.from_env().meta_repo.path == tmp_path / "elsewhere" / "store" / "metadata.json"
    monkeypatch.setenv("EBONITE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        Ebonite.from_env()


_scalars = st.one_of(
    st.text(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
)
_keys = st.text(min_size=1)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
_tables = st.recursive(
    st.dictionaries(_keys, _values, max_size=4), lambda inner: st.dictionaries(_keys, inner, max_size=3), max_leaves=8
)


@given(st.dictionaries(_keys, _tables, max_size=3))
def test_the_toml_writer_round_trips_through_tomllib(document: dict) -> None:
    assert tomllib.loads(toml_dumps(document)) == document


def test_the_toml_writer_leaves_out_none() -> None:
    assert tomllib.loads(toml_dumps({"artifact": {"type": "s3", "endpoint": None}})) == {"artifact": {"type": "s3"}}


def test_masking_reaches_nested_options_and_leaves_numbers_alone() -> None:
    needed: list[str] = []
    options = {
        "client_kwargs": {"aws_secret_access_key": "abc", "region_name": "eu"},
        "token_ttl": 300,
        "use_ssl": True,
        "db_uri": "mysql+pymysql://user@host/db",  # no password: nothing to mask
        "password": "${ALREADY_A_REFERENCE}",
    }
    assert mask_secrets(options, "artifact", needed) == {
        "client_kwargs": {
            "aws_secret_access_key": "${EBONITE_ARTIFACT_CLIENT_KWARGS_AWS_SECRET_ACCESS_KEY}",
            "region_name": "eu",
        },
        "token_ttl": 300,
        "use_ssl": True,
        "db_uri": "mysql+pymysql://user@host/db",
        "password": "${ALREADY_A_REFERENCE}",
    }
    assert needed == ["EBONITE_ARTIFACT_CLIENT_KWARGS_AWS_SECRET_ACCESS_KEY"]
