"""The ``s3`` artifact repository: model files as objects in any S3-compatible store, through boto3."""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import ClientError

from ebonite_core.errors import ArtifactNotFoundError, ConfigError, EboniteError, RepositoryError
from ebonite_core.masking import masked_value
from ebonite_core.repository import (
    KEY_MARKER,
    ArtifactRepository,
    check_artifact_key,
    check_artifact_name,
    deletable_key,
    is_artifact_key,
    key_marker,
)

from .errors import MISSING_OBJECT_CODES, driver_error, error_code, is_transient, translate
from .progress import ProgressCallback, ProgressSubscriber, tqdm_callback

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's smallest part (every part but the last)
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys per request
CHECKSUM_ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME")


class S3ArtifactRepository(ArtifactRepository):
    """Artifacts as objects ``<prefix>/<key>/<file name>`` (``<key>/<file name>`` with no prefix) in a bucket.

    Arguments:

    - ``bucket_name``: the bucket. It must exist unless ``create_bucket=True``, which creates it on first use.
    - ``endpoint``: the URL of an S3-compatible server (``http://127.0.0.1:9000``); ``None`` for AWS.
    - ``region``: the region name; ``None`` takes it from boto3's configuration.
    - ``prefix``: a key prefix, so that several registries can share one bucket, even one prefix inside another
      (``ml`` and ``ml/teamb``): only keys with this store's marker object are listed, collected or deleted.
    - ``part_size``, ``multipart_threshold``, ``max_concurrency``: boto3 transfer settings. Files of at least
      ``multipart_threshold`` bytes (default: ``part_size``) move in parts of ``part_size`` bytes (at least
      5 MiB), ``max_concurrency`` at a time, in both directions.
    - ``checksum_algorithm``: the checksum sent with every object or part, which the server verifies before
      storing it: ``"CRC32"`` (the default, as boto3's), ``"CRC32C"``, ``"SHA1"``, ``"SHA256"`` or
      ``"CRC64NVME"``. It guards the transfer; the sha256 of every file is recorded in the manifest by the
      client and checked on load whatever this setting is. In ``benchmarks/s3_transfer.py`` (1 GiB, two
      cores) SHA256 uploaded about 5% slower than CRC32 against SeaweedFS.
    - ``progress``: ``True`` for a tqdm bar (when tqdm is installed), or a callable
      ``progress(direction, object_key, transferred, total)``; only for transfers of at least
      ``progress_threshold`` bytes.
    - ``addressing_style``: ``"path"`` or ``"virtual"``; default ``"path"`` with an ``endpoint``, else boto3's.

    Credentials come only from boto3's standard chain (environment variables, shared files and profiles,
    container and instance roles); this class takes none.

    Every list and delete uses the key's trailing ``/``, so deleting key ``1`` never touches key ``10``.
    Listing and deleting are paginated. A failed push removes what it uploaded (aborting open multipart
    uploads); a cleanup that cannot run because the server is unreachable is retried by this object's next
    operation, and :meth:`keys` reports keys that only have an open multipart upload, so that garbage
    collection removes what a crashed process left.
    """

    type = "s3"

    def __init__(
        self,
        bucket_name: str,
        endpoint: str | None = None,
        region: str | None = None,
        prefix: str = "",
        create_bucket: bool = False,
        part_size: int = 16 * MiB,
        max_concurrency: int = 8,
        multipart_threshold: int | None = None,
        checksum_algorithm: str = "CRC32",
        progress: bool | ProgressCallback = False,
        progress_threshold: int = 64 * MiB,
        addressing_style: str | None = None,
    ) -> None:
        # Option values are checked here, before boto3 sees them (its own errors name neither the option nor
        # the fix); ConfigError is a ValueError.
        if not isinstance(bucket_name, str) or not bucket_name:
            raise ConfigError(f"s3: bucket_name must be a non-empty string, not {bucket_name!r}")
        if endpoint is not None and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", str(endpoint)):
            raise ConfigError(
                f"s3: endpoint {endpoint!r} has no scheme: write 'http://{endpoint}' (or 'https://...'), "
                "the URL of the S3 server."
            )
        if part_size < MIN_PART_SIZE:
            raise ConfigError(f"s3: part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum), not {part_size}")
        if max_concurrency < 1:
            raise ConfigError(f"s3: max_concurrency must be at least 1, not {max_concurrency}")
        if checksum_algorithm.upper() not in CHECKSUM_ALGORITHMS:
            raise ConfigError(f"s3: checksum_algorithm must be one of {', '.join(CHECKSUM_ALGORITHMS)}")
        self.bucket_name = bucket_name
        self.endpoint = endpoint
        self.region = region
        self.prefix = _normalize_prefix(prefix)
        self.create_bucket = create_bucket
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self.multipart_threshold = part_size if multipart_threshold is None else multipart_threshold
        self.checksum_algorithm = checksum_algorithm.upper()
        self.progress_threshold = progress_threshold
        self._progress = tqdm_callback() if progress is True else (progress or None)
        self._progress_bar = progress is True  # for config(): a callback cannot be written to a file
        self._addressing_style = addressing_style

        style = addressing_style or ("path" if endpoint else None)
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            config=Config(
                s3={"addressing_style": style} if style else None,
                # one connection per concurrent part, so that parallel parts never wait for the pool
                max_pool_connections=max(10, max_concurrency + 2),
            ),
        )
        # "classic": the same s3transfer code path everywhere (the CRT client would ignore these settings)
        self.transfer_config = TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=part_size,
            max_concurrency=max_concurrency,
            preferred_transfer_client="classic",
        )
        self._lock = threading.Lock()
        self._bucket_ready = False
        self._pending_cleanup: set[str] = set()  # keys whose cleanup failed: retried by the next operation

    def __repr__(self) -> str:
        endpoint = masked_value(type(self), "endpoint", self.endpoint) if self.endpoint else None
        return f"S3ArtifactRepository(bucket_name={self.bucket_name!r}, endpoint={endpoint!r}, prefix={self.prefix!r})"

    # Naming
    @property
    def _root(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def object_prefix(self, key: str) -> str:
        """The prefix of every object of ``key``, ending with ``/``."""
        return f"{self._root}{check_artifact_key(key)}/"

    def _where(self) -> str:
        if self.endpoint:
            return masked_value(type(self), "endpoint", self.endpoint)
        region = self.region or self.client.meta.region_name
        return f"AWS S3 ({region})" if region else "AWS S3"

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except EboniteError:
            raise  # already ours (for example ArtifactNotFoundError, chained to the driver's 404)
        except Exception as err:
            translated = translate(err, action, self.bucket_name, self._where())
            if translated is None:
                raise
            raise translated from err

    # The ArtifactRepository interface
    def push(self, key: str, files: Mapping[str, Path]) -> None:
        prefix = self.object_prefix(key)
        sources = {check_artifact_name(name): Path(path) for name, path in files.items()}
        action = f"push artifacts under key {key!r}"
        with self._translated(action):
            self._prepare()
            listing = self.client.list_objects_v2(Bucket=self.bucket_name, Prefix=prefix, MaxKeys=1)
            if listing.get("KeyCount", 0) or listing.get("Contents"):
                raise FileExistsError(f"Artifact key {key!r} already exists in S3 bucket {self.bucket_name!r}.")
        try:
            with self._translated(action):
                # The marker first: whatever a killed push leaves of this key, garbage collection can prove
                # that this store wrote it.
                self.client.put_object(
                    Bucket=self.bucket_name,
                    Key=prefix + KEY_MARKER,
                    Body=key_marker(key),
                    ChecksumAlgorithm=self.checksum_algorithm,
                )
                self._upload(prefix, sources)
        except BaseException:
            self._discard(key)
            raise

    def _upload(self, prefix: str, sources: dict[str, Path]) -> None:
        # One transfer manager for every file of the push: small files go up concurrently, large ones in
        # parallel parts. Leaving the block with an error cancels the other transfers and waits for them;
        # s3transfer aborts the multipart upload of a file that failed.
        with create_transfer_manager(self.client, self.transfer_config) as manager:
            futures = [
                manager.upload(
                    str(path),
                    self.bucket_name,
                    prefix + name,
                    extra_args={"ChecksumAlgorithm": self.checksum_algorithm},
                    subscribers=self._subscribers("upload", prefix + name),
                )
                for name, path in sources.items()
            ]
            for future in futures:
                future.result()

    def download(self, key: str, name: str, destination: Path) -> None:
        object_key = self.object_prefix(key) + check_artifact_name(name)
        with self._translated(f"download {name!r} of key {key!r}"):
            self._prepare()
            try:
                # s3transfer writes a temporary file next to the destination and renames it when complete
                with create_transfer_manager(self.client, self.transfer_config) as manager:
                    manager.download(
                        self.bucket_name,
                        object_key,
                        str(destination),
                        subscribers=self._subscribers("download", object_key),
                    ).result()
            except Exception as err:
                if error_code(driver_error(err)) not in MISSING_OBJECT_CODES:
                    raise
                self.client.head_bucket(Bucket=self.bucket_name)  # a missing bucket is also a 404
                raise ArtifactNotFoundError(
                    f"no object {object_key!r} in S3 bucket {self.bucket_name!r} at {self._where()}."
                ) from err

    def delete(self, key: str) -> None:
        with self._translated(f"delete key {key!r}"):
            self._prepare()
            try:
                self._delete_owned(key)
            except EboniteError:
                raise  # not this store's key: left alone, and not retried
            except Exception as err:
                self._remember_cleanup(key, err)
                raise

    def _delete_owned(self, key: str) -> None:
        """Delete ``key`` if this store wrote it (its marker, or a key from before markers)."""
        prefix = self.object_prefix(key)
        if not deletable_key(key, self._marked(prefix)) and self._objects(prefix, limit=1):
            raise RepositoryError(
                f"Objects under {prefix!r} in S3 bucket {self.bucket_name!r} were not written by this store "
                f"(no {KEY_MARKER} marker): they were left alone."
            )
        self._delete_prefix(prefix)

    def keys(self) -> dict[str, datetime]:
        """The keys with their marker object (``<prefix>/<key>/.ebonite-key``), each with the newest time any of
        its objects or open multipart uploads was written. Objects of another registry whose prefix is inside
        this one's (``ml/teamb`` inside ``ml``) are never keys: their markers are one level deeper."""
        with self._translated("list artifact keys"):
            self._prepare()
            return self._written(self._root)

    def key_written(self, key: str) -> datetime | None:
        with self._translated(f"look at key {key!r}"):
            self._prepare()
            return self._written(self.object_prefix(key)).get(key)

    def _written(self, prefix: str) -> dict[str, datetime]:
        newest: dict[str, datetime] = {}
        marked: set[str] = set()

        def note(object_key: str, when: datetime) -> None:
            key, slash, rest = object_key[len(self._root) :].partition("/")
            if slash and is_artifact_key(key):
                when = when.astimezone(timezone.utc)
                newest[key] = max(newest.get(key, when), when)
                if rest == KEY_MARKER:
                    marked.add(key)

        for item in self._objects(prefix):
            note(item["Key"], item["LastModified"])
        for upload in self._open_uploads(prefix):
            note(upload["Key"], upload["Initiated"])
        return {key: when for key, when in newest.items() if key in marked}

    def _objects(self, prefix: str, limit: int | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pagination = {"MaxItems": limit} if limit else {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket_name, Prefix=prefix, PaginationConfig=pagination
        )
        for page in pages:
            found += page.get("Contents", ())
        return found

    def _marked(self, prefix: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket_name, Key=prefix + KEY_MARKER)
        except ClientError as err:
            if error_code(err) in MISSING_OBJECT_CODES:
                return False
            raise
        return True

    def list_files(self, key: str) -> list[str] | None:
        prefix = self.object_prefix(key)
        with self._translated(f"list the files of key {key!r}"):
            self._prepare()
            names = [item["Key"][len(prefix) :] for item in self._objects(prefix)]
        return sorted(name for name in names if name != KEY_MARKER)

    def config(self) -> dict[str, Any]:
        """The constructor options that differ from their defaults, for ``Ebonite.save_config``.

        Credentials are never options: boto3 finds them (environment, ``~/.aws``, instance roles). A
        ``progress`` callback cannot be written to a file and is left out.
        """
        options: dict[str, Any] = {
            "bucket_name": self.bucket_name,
            "endpoint": self.endpoint,
            "region": self.region,
            "prefix": self.prefix,
            "create_bucket": self.create_bucket,
            "part_size": self.part_size,
            "max_concurrency": self.max_concurrency,
            "multipart_threshold": None if self.multipart_threshold == self.part_size else self.multipart_threshold,
            "checksum_algorithm": self.checksum_algorithm,
            "progress": self._progress_bar,
            "progress_threshold": self.progress_threshold,
            "addressing_style": self._addressing_style,
        }
        defaults = {
            name: parameter.default for name, parameter in inspect.signature(S3ArtifactRepository).parameters.items()
        }
        return {name: value for name, value in options.items() if name == "bucket_name" or value != defaults[name]}

    def close(self) -> None:
        self.client.close()

    # Helpers
    def _subscribers(self, direction: str, object_key: str) -> list[ProgressSubscriber] | None:
        if self._progress is None:
            return None
        return [ProgressSubscriber(self._progress, direction, object_key, self.progress_threshold)]

    def _prepare(self) -> None:
        """Create the bucket on first use if asked to, and finish cleanups that failed earlier."""
        if self.create_bucket and not self._bucket_ready:
            with self._lock:
                if not self._bucket_ready:
                    self._create_bucket()
                    self._bucket_ready = True
        with self._lock:
            pending = sorted(self._pending_cleanup)
        for key in pending:
            try:
                self._delete_owned(key)
            except Exception as err:
                if is_transient(err):  # still unreachable: keep it for the next operation
                    logger.debug("Cleanup of artifact key %s failed again", key, exc_info=True)
                    return
                logger.warning("Giving up the cleanup of artifact key %s: %s; garbage collection finds it", key, err)
            with self._lock:
                self._pending_cleanup.discard(key)

    def _create_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket_name)
            return
        except ClientError as err:
            if error_code(err) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        arguments: dict[str, Any] = {"Bucket": self.bucket_name}
        region = self.client.meta.region_name
        if region and region != "us-east-1":  # us-east-1 refuses an explicit location constraint
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**arguments)
        except ClientError as err:
            if error_code(err) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def _discard(self, key: str) -> None:
        """Best-effort removal of a failed push (its objects and open multipart uploads)."""
        try:
            self._delete_prefix(self.object_prefix(key))
        except Exception as err:
            logger.warning(
                "Could not remove the partial upload of artifact key %s (%s: %s); garbage collection finds it",
                key,
                type(err).__name__,
                err,
            )
            self._remember_cleanup(key, err)

    def _remember_cleanup(self, key: str, err: BaseException) -> None:
        # Only a store that could not be reached (or failed on its side) may do better next time; a refusal
        # (access denied) would be refused again on every operation, so it is left to garbage collection.
        if is_transient(err):
            with self._lock:
                self._pending_cleanup.add(key)

    def _delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix`` (in batches of 1,000) and abort its open multipart uploads; the
        key's marker goes last, so that a delete interrupted half-way leaves a key that garbage collection
        can still prove this store wrote."""
        marker = prefix + KEY_MARKER
        batch: list[dict[str, str]] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket_name, Prefix=prefix):
            for item in page.get("Contents", ()):
                if item["Key"] == marker:
                    continue
                batch.append({"Key": item["Key"]})
                if len(batch) == DELETE_BATCH:
                    self._delete_objects(batch)
                    batch = []
        if batch:
            self._delete_objects(batch)
        for upload in self._open_uploads(prefix):
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            except ClientError as err:
                if error_code(err) != "NoSuchUpload":  # aborted or completed meanwhile
                    raise
        self._delete_objects([{"Key": marker}])

    def _delete_objects(self, batch: list[dict[str, str]]) -> None:
        response = self.client.delete_objects(Bucket=self.bucket_name, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            # DeleteObjects answers 200 and lists the objects it refused: raise the first refusal as the
            # ClientError a single DeleteObject would have raised, so that it is translated the same way.
            first = errors[0]
            refused = f"{len(errors)} of {len(batch)} objects refused, first {first.get('Key')!r}"
            message = f"{first.get('Message', '')} ({refused})"
            raise ClientError({"Error": {"Code": first.get("Code", ""), "Message": message}}, "DeleteObjects")

    def _open_uploads(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket_name, Prefix=prefix)
        try:
            for page in pages:
                for upload in page.get("Uploads", ()):
                    if upload["Key"].startswith(prefix):  # some servers ignore the prefix
                        yield upload
        except ClientError as err:
            if error_code(err) not in ("NotImplemented", "501"):  # a store without multipart listing
                raise


def _normalize_prefix(prefix: str) -> str:
    """``prefix`` without surrounding slashes; refuses empty, ``.`` and ``..`` segments inside it."""
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, not {prefix!r}")
    stripped = prefix.strip("/")
    if stripped and any(part in ("", ".", "..") for part in stripped.split("/")):
        raise ValueError(f"Invalid prefix {prefix!r}: no empty, '.' or '..' segments.")
    return stripped
