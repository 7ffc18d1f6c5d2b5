"""Where objects go, how many can be listed and deleted, checksums, multipart cleanup and progress."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import zlib
from collections.abc import Callable
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import Location, MotoServer, S3Server, new_bucket_name

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.errors import ArtifactIntegrityError, RepositoryError
from ebonite_core.maintenance import collect_garbage, verify
from ebonite_core.repository import KEY_MARKER
from ebonite_core.testing import ScaleModel

MiB = 1024 * 1024


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def test_objects_are_stored_as_prefix_key_file(location: Location, tmp_path: Path) -> None:
    repository = S3ArtifactRepository(
        location.bucket, endpoint=location.server.endpoint, prefix=location.prefix + "registry/"
    )
    repository.push("abc123", {"model.pkl": write(tmp_path, "m", b"1"), "extra.json": write(tmp_path, "e", b"2")})
    assert sorted(location.object_keys()) == [
        f"{location.prefix}registry/abc123/{KEY_MARKER}",
        f"{location.prefix}registry/abc123/extra.json",
        f"{location.prefix}registry/abc123/model.pkl",
    ]
    repository.close()


def test_an_empty_prefix_stores_key_slash_file(moto_server: MotoServer, tmp_path: Path) -> None:
    bucket = new_bucket_name()
    moto_server.client().create_bucket(Bucket=bucket)
    repository = S3ArtifactRepository(bucket, endpoint=moto_server.endpoint)
    repository.push("abc123", {"model.pkl": write(tmp_path, "m", b"1")})
    assert Location(moto_server, bucket, "").object_keys() == [f"abc123/{KEY_MARKER}", "abc123/model.pkl"]


def test_two_prefixes_share_a_bucket_without_seeing_each_other(
    make_repository: Callable[..., S3ArtifactRepository], location: Location, tmp_path: Path
) -> None:
    team_a = make_repository(prefix=location.prefix + "team-a")
    team_b = make_repository(prefix=location.prefix + "team-a-b")  # a prefix of the other's name
    team_a.push("1", {"model.pkl": write(tmp_path, "a", b"a")})
    team_b.push("1", {"model.pkl": write(tmp_path, "b", b"b")})
    assert set(team_a.keys()) == set(team_b.keys()) == {"1"}
    team_a.delete("1")
    assert team_a.keys() == {}
    team_b.download("1", "model.pkl", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"b"


def test_deleting_key_1_leaves_key_10(repository: S3ArtifactRepository, location: Location, tmp_path: Path) -> None:
    repository.push("1", {"model.pkl": write(tmp_path, "one", b"one")})
    repository.push("10", {"model.pkl": write(tmp_path, "ten", b"ten")})
    repository.delete("1")
    assert location.object_keys() == [f"{location.prefix}10/{KEY_MARKER}", f"{location.prefix}10/model.pkl"]
    assert set(repository.keys()) == {"10"}


def test_1001_files_under_one_key_are_listed_and_deleted(
    repository: S3ArtifactRepository, location: Location, tmp_path: Path
) -> None:
    """More than one page of ListObjectsV2 (1,000) and more than one DeleteObjects batch (1,000): the key holds
    1,002 objects (its files and its marker)."""
    files = {f"f{index:04d}.bin": write(tmp_path, f"f{index:04d}.bin", b"%d" % index) for index in range(1001)}
    repository.push("many", files)
    repository.push("many0", {"x.bin": write(tmp_path, "x.bin", b"x")})  # a sibling that must survive
    assert set(repository.keys()) == {"many", "many0"}
    assert len(location.object_keys()) == 1004, "1,002 files and 2 markers"
    with pytest.raises((FileExistsError, RepositoryError)):  # the existence check sees a 1,001-object key
        repository.push("many", {"x.bin": files["f0000.bin"]})
    repository.delete("many")
    assert location.object_keys() == [f"{location.prefix}many0/{KEY_MARKER}", f"{location.prefix}many0/x.bin"]
    assert set(repository.keys()) == {"many0"}


def test_keys_reports_the_latest_write_as_an_aware_utc_time(repository: S3ArtifactRepository, tmp_path: Path) -> None:
    repository.push("k", {"a.bin": write(tmp_path, "a", b"a"), "b.bin": write(tmp_path, "b", b"b")})
    when = repository.keys()["k"]
    assert when.tzinfo is not None and when.utcoffset() == timezone.utc.utcoffset(when)


def test_keys_ignores_objects_that_are_not_artifacts(
    repository: S3ArtifactRepository, location: Location, tmp_path: Path
) -> None:
    client = location.server.client()
    client.put_object(Bucket=location.bucket, Key=f"{location.prefix}README", Body=b"not ours")
    client.put_object(Bucket=location.bucket, Key=f"{location.prefix}.hidden/x", Body=b"not ours")
    repository.push("k", {"a.bin": write(tmp_path, "a", b"a")})
    assert set(repository.keys()) == {"k"}


def test_missing_bucket_is_created_only_when_asked(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = new_bucket_name()
    plain = S3ArtifactRepository(bucket, endpoint=s3_server.endpoint)
    with pytest.raises(RepositoryError, match="does not exist"):
        plain.push("k", {"a.bin": write(tmp_path, "a", b"a")})
    creating = S3ArtifactRepository(bucket, endpoint=s3_server.endpoint, create_bucket=True)
    creating.push("k", {"a.bin": write(tmp_path, "a", b"a")})
    assert set(plain.keys()) == {"k"}
    S3ArtifactRepository(bucket, endpoint=s3_server.endpoint, create_bucket=True).keys()  # exists: no error


def _expected_checksum(algorithm: str, data: bytes) -> str:
    digest = zlib.crc32(data).to_bytes(4, "big") if algorithm == "CRC32" else hashlib.sha256(data).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA256"])
def test_every_object_carries_the_checksum_the_server_was_sent(
    make_repository: Callable[..., S3ArtifactRepository], location: Location, tmp_path: Path, algorithm: str
) -> None:
    repository = make_repository() if algorithm == "CRC32" else make_repository(checksum_algorithm=algorithm)
    data = os.urandom(1000)
    repository.push("k", {"small.bin": write(tmp_path, "small", data)})
    head = location.server.client().head_object(
        Bucket=location.bucket, Key=f"{location.prefix}k/small.bin", ChecksumMode="ENABLED"
    )
    assert head[f"Checksum{algorithm}"] == _expected_checksum(algorithm, data)


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)  # moto checks no checksum
@pytest.mark.parametrize("algorithm", ["CRC32", "SHA256"])
def test_seaweedfs_refuses_a_wrong_checksum(
    make_repository: Callable[..., S3ArtifactRepository], location: Location, tmp_path: Path, algorithm: str
) -> None:
    """The checksum the repository sends is verified by the server: a forged one is refused (BadDigest),
    for a single-part object and for the parts of a multipart upload, and nothing is left behind."""
    header = f"x-amz-checksum-{algorithm.lower()}"
    forged = _expected_checksum(algorithm, b"something else")

    def forge(request: Any, **kwargs: Any) -> None:
        assert header in request.headers, "the repository must send the checksum"
        del request.headers[header]  # headers append on assignment: replace, not add
        request.headers[header] = forged

    for size in (1000, 11 * MiB):
        repository = make_repository(checksum_algorithm=algorithm)
        # A hook of botocore's public event system on the real client: the request that reaches the server
        # is signed as usual but carries a checksum that does not match its body.
        repository.client.meta.events.register("before-sign.s3.PutObject", forge)
        repository.client.meta.events.register("before-sign.s3.UploadPart", forge)
        with pytest.raises(ArtifactIntegrityError, match="checksum") as raised:
            repository.push("k", {"model.pkl": write(tmp_path, "model.pkl", os.urandom(size))})
        assert "BadDigest" in str(raised.value) and raised.value.__cause__ is not None
        assert repository.keys() == {}
        assert location.object_keys() == []
        assert location.open_uploads() == []


def test_an_upload_left_open_is_reported_by_keys_and_aborted_by_delete(
    repository: S3ArtifactRepository, location: Location
) -> None:
    """What a crashed push leaves (its marker, then an open multipart upload) is visible to garbage collection;
    an open upload without the marker is someone else's."""
    client = location.server.client()
    client.put_object(Bucket=location.bucket, Key=f"{location.prefix}crashed/{KEY_MARKER}", Body=b"")
    client.create_multipart_upload(Bucket=location.bucket, Key=f"{location.prefix}crashed/model.pkl")
    client.create_multipart_upload(Bucket=location.bucket, Key=f"{location.prefix}theirs/model.pkl")
    assert len(location.open_uploads()) == 2
    assert set(repository.keys()) == {"crashed"}
    repository.delete("crashed")
    assert [upload["Key"] for upload in location.open_uploads()] == [f"{location.prefix}theirs/model.pkl"]
    assert repository.keys() == {} and location.object_keys() == []


def test_progress_callback_sees_large_transfers_only(
    make_repository: Callable[..., S3ArtifactRepository], tmp_path: Path
) -> None:
    events: list[tuple[str, str, int, int]] = []
    lock = threading.Lock()

    def progress(direction: str, object_key: str, transferred: int, total: int) -> None:
        with lock:
            events.append((direction, object_key, transferred, total))

    repository = make_repository(progress=progress, progress_threshold=6 * MiB)
    large = os.urandom(11 * MiB)
    repository.push("k", {"large.bin": write(tmp_path, "large", large), "small.bin": write(tmp_path, "small", b"s")})
    repository.download("k", "large.bin", tmp_path / "large.out")
    repository.download("k", "small.bin", tmp_path / "small.out")
    assert {(direction, key.rsplit("/", 1)[1]) for direction, key, _, _ in events} == {
        ("upload", "large.bin"),
        ("download", "large.bin"),
    }
    for direction in ("upload", "download"):
        final = max(done for d, _, done, _ in events if d == direction)
        assert final == len(large)
        assert {total for d, _, _, total in events if d == direction} == {len(large)}


def test_progress_true_draws_a_tqdm_bar(
    make_repository: Callable[..., S3ArtifactRepository], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = make_repository(progress=True, progress_threshold=MiB)
    repository.push("k", {"large.bin": write(tmp_path, "large", os.urandom(2 * MiB))})
    drawn = capsys.readouterr().err
    assert "upload" in drawn and "large.bin" in drawn and "2.00M/2.00M" in drawn


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"part_size": MiB}, "part_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"checksum_algorithm": "MD4"}, "checksum_algorithm"),
        ({"prefix": "a//b"}, "prefix"),
        ({"prefix": "a/../b"}, "prefix"),
        ({"bucket_name": ""}, "bucket_name"),
    ],
)
def test_invalid_settings_are_refused(arguments: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"bucket_name": "bucket", "endpoint": "http://127.0.0.1:1"}
    settings.update(arguments)
    with pytest.raises(ValueError, match=message):
        S3ArtifactRepository(**settings)  # type: ignore[arg-type]


def test_create_bucket_outside_us_east_1_names_its_region(moto_server: MotoServer, tmp_path: Path) -> None:
    bucket = new_bucket_name()
    repository = S3ArtifactRepository(bucket, endpoint=moto_server.endpoint, region="eu-west-1", create_bucket=True)
    repository.push("k", {"a.bin": write(tmp_path, "a", b"a")})
    assert moto_server.client().get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"


def test_two_registries_in_one_bucket_one_prefix_inside_the_other_never_touch_each_other(
    location: Location, tmp_path: Path
) -> None:
    """Prefixes ``ml`` and ``ml/teamb``: the outer registry sees ``teamb`` where a key would be, but no marker
    of its own there, so its gc and verify leave the inner registry alone; and the other way round."""
    registries = {
        name: Ebonite(
            LocalMetadataRepository(tmp_path / f"{name}.json"),
            S3ArtifactRepository(location.bucket, endpoint=location.server.endpoint, prefix=location.prefix + prefix),
        )
        for name, prefix in (("outer", "ml"), ("inner", "ml/teamb"))
    }
    for factor, ebnt in enumerate(registries.values(), start=2):
        ebnt.create_model(ScaleModel(float(factor)), [1.0], "model", project_name="p", task_name="t")
    for ebnt in registries.values():
        assert verify(ebnt).problems == []
        assert collect_garbage(ebnt, timedelta(0)).removed_keys == {}
    for factor, ebnt in enumerate(registries.values(), start=2):
        assert ebnt.get_model("model", "t", "p").predict([1.0]) == [float(factor)]
        ebnt.close()
