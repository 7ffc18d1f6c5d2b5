"""What needs no server: the plugin's packaging, URLs and options per protocol (GCS included, which has no
emulator here), config round trips and saved configs without secrets, and the errors for unknown or
uninstalled protocols."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ebonite_fsspec.errors import ProtocolNotInstalledError, UnsupportedURLError
from ebonite_fsspec.protocols import find_protocol, mask_url
from ebonite_fsspec.repository import FsspecArtifactRepository

from ebonite_core import Ebonite
from ebonite_core.config import parse_config
from ebonite_core.plugins import PluginRegistry


def _run(script: str) -> object:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_entry_point_provides_fsspec() -> None:
    registry = PluginRegistry()
    assert registry.resolve("artifact", "fsspec") is FsspecArtifactRepository
    assert registry.plugins["fsspec"].distribution == "ebonite-fsspec"


def test_fsspec_and_protocol_packages_are_imported_only_when_a_repository_is_built() -> None:
    """Listing plugins imports no driver; building an SFTP repository imports sshfs but opens no connection
    (the port is closed: the error comes with the first operation)."""
    report = _run(
        """
        import json, socket, sys
        from ebonite_core.plugins import PluginRegistry
        drivers = ("fsspec", "sshfs", "asyncssh", "adlfs", "gcsfs", "webdav4")
        cls = PluginRegistry().resolve("artifact", "fsspec")
        listed = [name for name in drivers if name in sys.modules]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        repo = cls(f"sftp://ml@127.0.0.1:{port}/models", {"known_hosts": None})
        built = [name for name in drivers if name in sys.modules]
        try:
            repo.keys()
            failure = None
        except Exception as err:
            failure = type(err).__name__
        print(json.dumps({"listed": listed, "built": built, "failure": failure}))
        """
    )
    assert report == {"listed": [], "built": ["fsspec", "sshfs", "asyncssh"], "failure": "RepositoryError"}


@pytest.mark.parametrize(
    ("url", "options", "arguments", "root"),
    [
        (
            "ftp://ml:p%40ss%3Aw@files.example.com:2121/srv/models/",
            {},
            {"host": "files.example.com", "port": 2121, "username": "ml", "password": "p@ss:w"},
            "/srv/models",
        ),
        (
            "sftp://ml@files.example.com/models",
            {"password": "pw", "known_hosts": "/etc/ssh/known"},
            {"host": "files.example.com", "username": "ml", "password": "pw", "known_hosts": "/etc/ssh/known"},
            "/models",
        ),
        ("ssh://files.example.com:2222/m", {}, {"host": "files.example.com", "port": 2222, "known_hosts": ()}, "/m"),
        (
            "webdav+https://ml:p%23w@dav.example.com/remote.php/dav/files/ml/models",
            {"timeout": 30},
            {"base_url": "https://dav.example.com", "auth": ("ml", "p#w"), "timeout": 30},
            "remote.php/dav/files/ml/models",
        ),
        ("webdav+http://127.0.0.1:8080/m", {"password": "x"}, {"base_url": "http://127.0.0.1:8080"}, "m"),
        (
            "abfs://models@account.dfs.core.windows.net/registry",
            {},
            {"account_name": "account", "max_concurrency": 8},
            "models/registry",
        ),
        (
            "az://container/registry",
            {"account_name": "a", "anon": False, "max_concurrency": 2},
            {"account_name": "a", "anon": False, "max_concurrency": 2},
            None,
        ),
        ("gs://bucket/team/registry", {"token": "anon", "project": "p"}, {"token": "anon", "project": "p"}, None),
        ("gcs://bucket", {}, {}, "bucket"),
        ("memory://scratch/models", {}, {}, "/scratch/models"),
        ("file:///srv/models", {}, {}, "/srv/models"),
    ],
)
def test_urls_and_storage_options_become_the_file_systems_arguments(
    url: str, options: dict[str, object], arguments: dict[str, object], root: str | None
) -> None:
    """What the URL says comes first and storage_options override it; a percent-encoded password is decoded;
    SFTP checks host keys unless told not to; a WebDAV URL gives the base URL and the authentication."""
    repository = FsspecArtifactRepository(url, options)
    built, built_root = repository.protocol.arguments(url, options)
    assert built == arguments
    assert built_root == (root if root is not None else url.partition("://")[2])
    assert repository.root == built_root


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("s3://bucket/models", "use the s3 artifact type instead (pip install ebonite-s3)"),
        ("webdav://dav.example.com/m", "write webdav+https://HOST/PATH"),
        ("hdfs://namenode/models", "Supported: file://, memory://, ftp://, sftp://, ssh://, webdav+https://"),
        ("/srv/models", "write a URL with a scheme"),
        ("file:///", "names no directory: write where the store lives, e.g. file:///srv/models"),
        ("gs://", "names no bucket"),
        ("abfs://", "names no container"),
        ("", "url must be a non-empty string"),
    ],
)
def test_an_unknown_protocol_is_a_clear_error(url: str, fragment: str) -> None:
    with pytest.raises(UnsupportedURLError) as raised:
        FsspecArtifactRepository(url)
    assert fragment in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("url", "package", "extra"),
    [
        ("gs://bucket/models", "gcsfs", "gcs"),
        ("abfs://container/models", "adlfs", "azure"),
        ("sftp://host/models", "sshfs", "sftp"),
        ("webdav+https://host/models", "webdav4", "webdav"),
    ],
)
def test_an_uninstalled_protocol_names_the_extra_to_install(
    url: str, package: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # what importlib reports for a package that is not there
    with pytest.raises(ProtocolNotInstalledError) as raised:
        FsspecArtifactRepository(url)
    assert f"pip install 'ebonite-fsspec[{extra}]'" in str(raised.value)
    assert package in str(raised.value)


def test_find_protocol_covers_each_extra() -> None:
    assert {find_protocol(url).extra for url in ("ftp://h/m", "sftp://h/m", "gs://b", "az://c", "memory://m")} == {
        "ftp",
        "sftp",
        "gcs",
        "azure",
        None,
    }


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("sftp://ml:secret@host:22/models", "sftp://ml:***@host:22/models"),
        ("ftp://ml:p%40ss@host/m", "ftp://ml:***@host/m"),
        ("ftp://ml:pa/ss@host/m", "ftp://ml:***@host/m"),  # an unencoded '/' cuts urllib's authority short
        ("ftp://ml:pa?s#s@host/m", "ftp://ml:***@host/m"),
        ("ftp://ml:a@b@host/m", "ftp://ml:***@host/m"),
        ("webdav+https://dav.example.com:8443/files/me@example.com/m", None),  # an '@' in the path is no password
        ("abfs://container@account.dfs.core.windows.net/m", None),
        ("sftp://ml@host/models", None),
    ],
)
def test_mask_url_hides_every_password(url: str, masked: str | None) -> None:
    assert mask_url(url) == (masked or url)


def test_config_round_trips_and_save_config_writes_no_secret_in_clear(tmp_path: Path) -> None:
    """A password in the URL and in storage_options, an Azure connection string's key, a GCS service account's
    private key: none is written in clear; each becomes a ${VARIABLE} that reading the file back expands."""
    secrets = {
        "url": "sftp://ml:url-Secret-1@files.example.com/models",
        "storage_options": {
            "password": "options-Secret-2",
            "known_hosts": "/etc/ssh/known_hosts",
            "client_keys": ["/home/ml/.ssh/id_ed25519"],
            "passphrase": "key-Secret-3",
        },
    }
    client = Ebonite.custom_client(
        "local", "fsspec", meta_kwargs={"path": tmp_path / "metadata.json"}, artifact_kwargs=secrets
    )
    repository = client.artifact_repo
    assert FsspecArtifactRepository(**repository.config()).config() == repository.config() == secrets
    needed = client.save_config(tmp_path / "ebonite.toml")
    text = (tmp_path / "ebonite.toml").read_text()
    for secret in ("url-Secret-1", "options-Secret-2", "key-Secret-3"):
        assert secret not in text
        assert secret not in repr(client)
    assert "/etc/ssh/known_hosts" in text and "id_ed25519" in text
    environment = {variable: "from-env" for variable in needed}
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in environment.items():
            patch.setenv(variable, value)
        reread = parse_config(tmp_path / "ebonite.toml").artifact.options
    assert reread["url"] == "sftp://ml:from-env@files.example.com/models"
    assert reread["storage_options"]["password"] == reread["storage_options"]["passphrase"] == "from-env"


@pytest.mark.parametrize(
    ("url", "options", "secret"),
    [
        (
            "abfs://container/models",
            {
                "connection_string": "DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=Azure-Secret-4==;"
                "EndpointSuffix=core.windows.net"
            },
            "Azure-Secret-4==",
        ),
        ("abfs://container/models", {"account_name": "acc", "sas_token": "sv=2024&sig=Sas-Secret-5"}, "Sas-Secret-5"),
        ("webdav+https://dav.example.com/m", {"auth": ["ml", "Dav-Secret-8"]}, "Dav-Secret-8"),
        (
            "gs://bucket/models",
            {"token": {"type": "service_account", "private_key": "Gcs-Secret-6", "client_email": "m@p.iam"}},
            "Gcs-Secret-6",
        ),
    ],
)
def test_cloud_credentials_are_never_saved_in_clear(
    url: str, options: dict[str, object], secret: str, tmp_path: Path
) -> None:
    client = Ebonite.custom_client(
        "local",
        "fsspec",
        meta_kwargs={"path": tmp_path / "m.json"},
        artifact_kwargs={"url": url, "storage_options": options},
    )
    needed = client.save_config(tmp_path / "ebonite.json")
    assert secret not in (tmp_path / "ebonite.json").read_text()
    assert needed
    repository = client.artifact_repo
    assert FsspecArtifactRepository(**repository.config()).config() == repository.config()


def test_a_config_file_with_environment_references_builds_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ebonite.toml").write_text(
        textwrap.dedent(
            """
            [metadata]
            type = "local"
            path = "registry/metadata.json"

            [artifact]
            type = "fsspec"
            url = "sftp://ml:${SFTP_PASSWORD}@${SFTP_HOST:-files.example.com}/models"

            [artifact.storage_options]
            known_hosts = "${HOME}/.ssh/known_hosts"
            """
        )
    )
    monkeypatch.setenv("SFTP_PASSWORD", "env-Secret-7")
    monkeypatch.setenv("HOME", "/home/ml")
    client = Ebonite.from_config(tmp_path / "ebonite.toml")
    repository = client.artifact_repo
    assert isinstance(repository, FsspecArtifactRepository)
    assert repository.protocol.arguments(repository.url, repository.storage_options)[0] == {
        "host": "files.example.com",
        "username": "ml",
        "password": "env-Secret-7",
        "known_hosts": "/home/ml/.ssh/known_hosts",
    }
    client.save_config(tmp_path / "again.toml")
    assert "${SFTP_PASSWORD}" in (tmp_path / "again.toml").read_text()  # references are written back as such
    assert "env-Secret-7" not in (tmp_path / "again.toml").read_text()


def test_gcs_is_configured_offline(tmp_path: Path) -> None:
    """No GCS emulator runs here: the URL, the options and the config round trip are what can be checked."""
    repository = FsspecArtifactRepository("gs://models-bucket/team-a", {"token": "anon", "project": "ml"})
    assert repository.protocol.name == "gcs" and not repository.protocol.renames
    assert repository.root == "models-bucket/team-a"
    assert repr(repository) == "FsspecArtifactRepository('gs://models-bucket/team-a')"
    assert FsspecArtifactRepository(**repository.config()).config() == repository.config()


def test_without_the_plugin_the_fsspec_type_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from ebonite_core.errors import UnknownBackendError

    monkeypatch.setenv("EBONITE_DISABLE_PLUGINS", "fsspec")
    with pytest.raises(UnknownBackendError, match="ebonite-fsspec"):
        PluginRegistry().resolve("artifact", "fsspec")


def test_storage_options_that_are_objects_cannot_be_saved() -> None:
    repository = FsspecArtifactRepository("abfs://container/models", {"credential": object(), "account_name": "a"})
    with pytest.raises(TypeError, match=r"storage_options credential of .* cannot be written to a config file"):
        repository.config()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("hdfs://namenode/models", "does not support the URL"), ("gs://bucket/m", "pip install 'ebonite-fsspec[gcs]'")],
)
def test_the_command_line_calls_a_bad_url_or_a_missing_extra_a_usage_error(
    url: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebonite_core.cli import main

    monkeypatch.setitem(sys.modules, "gcsfs", None)
    config = tmp_path / "ebonite.json"
    config.write_text(json.dumps({"metadata": {"type": "inmemory"}, "artifact": {"type": "fsspec", "url": url}}))
    assert main(["ls", "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("ebonite: error: ") and fragment in error and len(error.splitlines()) == 1
