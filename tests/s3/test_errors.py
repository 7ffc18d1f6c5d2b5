"""Driver failures become clear ebonite errors naming the bucket and the endpoint, never the secret.

Against real servers: SeaweedFS checks signatures and permissions; an unreachable endpoint is a closed
loopback port.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ebonite_s3.errors import S3AccessError
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import (
    READER_ACCESS_KEY,
    READER_SECRET_KEY,
    Location,
    S3Server,
    SeaweedFSServer,
    closed_port,
    new_bucket_name,
)

from ebonite_core import Ebonite, InMemoryMetadataRepository
from ebonite_core.errors import ArtifactNotFoundError, ConfigError, EboniteError, RepositoryError
from ebonite_core.testing import ScaleModel

WRONG_SECRET = "wrong-secret-5f3a9c"  # must never appear in an error message


def _model_file(tmp_path: Path) -> dict[str, Path]:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"model")
    return {"model.pkl": path}


def _messages(error: BaseException) -> str:
    """The error's text and that of everything chained to it."""
    texts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(texts) < 10:
        texts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def _check_names_where(error: BaseException, bucket: str, endpoint: str) -> None:
    assert isinstance(error, EboniteError)
    assert repr(bucket) in str(error) and endpoint in str(error)
    assert error.__cause__ is not None, "the driver's error must stay chained"


def test_missing_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = new_bucket_name()
    repository = S3ArtifactRepository(bucket, endpoint=s3_server.endpoint)
    for operation in (
        lambda: repository.push("k", _model_file(tmp_path)),
        lambda: repository.download("k", "model.pkl", tmp_path / "out"),  # a 404 that is not a missing file
        repository.keys,
        lambda: repository.delete("k"),
    ):
        with pytest.raises(RepositoryError, match="the bucket does not exist") as raised:
            operation()
        assert not isinstance(raised.value, ArtifactNotFoundError)
        _check_names_where(raised.value, bucket, s3_server.endpoint)


def test_missing_file_is_artifact_not_found_not_a_repository_error(
    repository: S3ArtifactRepository, tmp_path: Path
) -> None:
    with pytest.raises(ArtifactNotFoundError, match=r"model\.pkl") as raised:
        repository.download("nokey", "model.pkl", tmp_path / "out")
    assert repository.bucket_name in str(raised.value) and raised.value.__cause__ is not None
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
def test_a_model_whose_object_is_gone_says_missing_once_and_where(repository: S3ArtifactRepository) -> None:
    ebnt = Ebonite(InMemoryMetadataRepository(), repository)
    stored = ebnt.create_model(ScaleModel(), [1.0], "scale")
    repository.delete(stored.artifact_key)
    with pytest.raises(ArtifactNotFoundError) as raised:
        ebnt.get_model("scale", "default_task", "default_project").load()
    message = str(raised.value)
    assert message.count("missing") == 1 and "'model.pkl' of model 'scale' is missing" in message
    assert f"in S3 bucket {repository.bucket_name!r} at {repository.endpoint}" in message


def test_options_are_checked_before_boto3_sees_them() -> None:
    """A typo names the option it means; an endpoint without a scheme says what to write (botocore says only
    'Invalid endpoint')."""
    with pytest.raises(ConfigError) as raised:
        Ebonite.custom_client("inmemory", "s3", artifact_kwargs={"bucket": "models"})
    message = str(raised.value)
    assert "artifact repository type 's3' (S3ArtifactRepository)" in message
    assert "'bucket' (did you mean 'bucket_name'?) and needs the option 'bucket_name'" in message
    with pytest.raises(ConfigError, match=r"endpoint 'localhost:9000' has no scheme: write 'http://localhost:9000'"):
        Ebonite.custom_client("inmemory", "s3", artifact_kwargs={"bucket_name": "models", "endpoint": "localhost:9000"})


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)  # moto allows everything
def test_access_denied(location: Location, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = S3ArtifactRepository(location.bucket, endpoint=location.server.endpoint, prefix=location.prefix)
    writer.push("k", _model_file(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", READER_ACCESS_KEY)  # an identity that may read, not write
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", READER_SECRET_KEY)
    reader = S3ArtifactRepository(location.bucket, endpoint=location.server.endpoint, prefix=location.prefix)
    reader.download("k", "model.pkl", tmp_path / "out")  # reading is allowed
    assert (tmp_path / "out").read_bytes() == b"model"
    for operation in (lambda: reader.push("other", _model_file(tmp_path)), lambda: reader.delete("k")):
        with pytest.raises(S3AccessError, match="access denied") as raised:
            operation()
        assert isinstance(raised.value, PermissionError) and isinstance(raised.value, RepositoryError)
        _check_names_where(raised.value, location.bucket, location.server.endpoint)
        assert READER_SECRET_KEY not in _messages(raised.value)
    assert set(writer.keys()) == {"k"}


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)  # moto checks no signature
@pytest.mark.parametrize(
    ("access_key", "code"), [("testing", "SignatureDoesNotMatch"), ("nobody-knows-me", "InvalidAccessKeyId")]
)
def test_wrong_credentials(
    location: Location, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, access_key: str, code: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    repository = S3ArtifactRepository(location.bucket, endpoint=location.server.endpoint, prefix=location.prefix)
    for operation in (lambda: repository.push("k", _model_file(tmp_path)), repository.keys):
        with pytest.raises(S3AccessError, match="rejected the credentials") as raised:
            operation()
        assert code in str(raised.value)
        _check_names_where(raised.value, location.bucket, location.server.endpoint)
        assert WRONG_SECRET not in _messages(raised.value)
    assert location.object_keys() == []


def test_no_credentials_at_all(s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    repository = S3ArtifactRepository("any-bucket", endpoint=s3_server.endpoint)
    with pytest.raises(S3AccessError, match="no usable credentials") as raised:
        repository.push("k", _model_file(tmp_path))
    _check_names_where(raised.value, "any-bucket", s3_server.endpoint)


def test_unreachable_endpoint(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    repository = S3ArtifactRepository("models", endpoint=endpoint)
    for operation in (
        lambda: repository.push("k", _model_file(tmp_path)),
        lambda: repository.download("k", "model.pkl", tmp_path / "out"),
        repository.keys,
        lambda: repository.delete("k"),
    ):
        with pytest.raises(RepositoryError, match="cannot be reached") as raised:
            operation()
        _check_names_where(raised.value, "models", endpoint)


def test_wrong_credentials_error_never_includes_the_secret_even_in_repr(
    seaweedfs_server: SeaweedFSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    repository = S3ArtifactRepository("ebonite-probe", endpoint=seaweedfs_server.endpoint)
    with pytest.raises(S3AccessError) as raised:
        repository.keys()
    assert WRONG_SECRET not in repr(raised.value) and WRONG_SECRET not in repr(repository)
