"""Repository options are checked before a constructor runs: one ConfigError naming the backend type, the
option, what it accepts and the closest match, the same from custom_client, from_config and the command line.
(The plugins' own option values are checked in tests/s3 and tests/sqlalchemy.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Cli, assert_one_line_error

from ebonite_core import ConfigError, Ebonite
from ebonite_core.options import check_options, closest


@pytest.mark.parametrize(
    ("meta_kwargs", "artifact_kwargs", "fragments"),
    [
        (
            {"pth": "registry/metadata.json"},
            {},
            ["metadata repository type 'local'", "does not take the option 'pth' (did you mean 'path'?)"],
        ),
        (
            {},
            {"path": "registry/artifacts", "durible": False},
            ["artifact repository type 'local'", "'durible' (did you mean 'durable'?)", "It accepts: path, durable"],
        ),
        (
            {"path": "m.json", "colour": 3, "locktimeout": 1},
            {},
            ["does not take the options 'colour', 'locktimeout' (did you mean 'lock_timeout'?)"],
        ),
    ],
)
def test_custom_client_names_the_option_it_does_not_take_and_the_closest_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, meta_kwargs: dict, artifact_kwargs: dict, fragments: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        Ebonite.custom_client("local", "local", meta_kwargs=meta_kwargs, artifact_kwargs=artifact_kwargs)
    for fragment in fragments:
        assert fragment in str(raised.value)
    assert list(tmp_path.iterdir()) == [], "nothing was created before the check"


def test_a_config_file_names_itself_too(tmp_path: Path) -> None:
    config = tmp_path / "ebonite.toml"
    config.write_text('[metadata]\ntype = "inmemory"\nsize = 3\n\n[artifact]\ntype = "inmemory"\n')
    with pytest.raises(ConfigError) as raised:
        Ebonite.from_config(config)
    assert str(raised.value) == (
        f"config file {config}: the metadata repository type 'inmemory' (InMemoryMetadataRepository) does not "
        "take the option 'size'. It accepts: no options."
    )


def test_required_and_passed_on_options() -> None:
    """A required option left out is named, and a given option that looks like it is taken for the typo even
    when the constructor passes other options on (``**kwargs``)."""

    class Needs:
        def __init__(self, bucket_name: str, endpoint: str | None = None, **client_options: object) -> None:
            pass

    check_options("artifact repository type 'needs'", Needs, {"bucket_name": "b", "retries": 3})  # passed on
    with pytest.raises(ConfigError) as raised:
        check_options("artifact repository type 'needs'", Needs, {"bucket": "b"})
    assert str(raised.value) == (
        "The artifact repository type 'needs' does not take the option 'bucket' (did you mean 'bucket_name'?) and "
        "needs the option 'bucket_name'. It accepts: bucket_name (required), endpoint, and any other option, "
        "passed on as **client_options."
    )
    with pytest.raises(ConfigError, match=r"needs the option 'bucket_name'\. It accepts"):
        check_options("artifact repository type 'needs'", Needs, {})


def test_closest_prefers_the_same_letters_then_similar_ones() -> None:
    assert closest("S3", ["s3", "local"]) == "s3"
    assert closest("uri", ["db_uri", "upgrade"]) == "db_uri"
    assert closest("nothing", ["s3", "local"]) is None


def test_the_command_line_reports_a_config_typo_as_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text('[metadata]\ntype = "local"\npth = "m.json"\n\n[artifact]\ntype = "local"\n')
    assert_one_line_error(
        cli("ls", "--config", config), 2, "metadata repository type 'local'", "'pth' (did you mean 'path'?)"
    )
