"""Turning boto3, botocore and s3transfer failures into ebonite errors.

Every translated error names the operation, the bucket and the endpoint, and is raised ``from`` the original
error. Messages are built from the error code and the server's message, never from credentials::

    RepositoryError (ebonite_core.errors)          the bucket is missing, the endpoint unreachable, ...
    └── S3AccessError (also PermissionError)       access denied, or credentials missing or rejected
    ArtifactIntegrityError (ebonite_core.errors)   the server refused an upload whose checksum did not match
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError as BotoHTTPClientError

from ebonite_core.errors import ArtifactIntegrityError, EboniteError, RepositoryError


class S3AccessError(RepositoryError, PermissionError):
    """The store refused the request: access denied, or the credentials are missing or rejected."""


# Error codes, grouped by what the user has to do about them.
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket"})
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem", "403"})
BAD_CREDENTIALS_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidSecurity",
        "AuthorizationHeaderMalformed",
    }
)
CHECKSUM_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"})
MISSING_OBJECT_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

_DRIVER_ERRORS = (BotoCoreError, ClientError)


def driver_error(err: BaseException) -> BaseException | None:
    """The botocore error behind ``err``, looking through boto3's and s3transfer's wrappers, or ``None``.

    boto3 wraps upload failures in ``S3UploadFailedError`` (raised while handling the ``ClientError``) and
    download retries in ``RetriesExceededError`` (which keeps ``last_exception``).
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, _DRIVER_ERRORS):
            return current
        seen.add(id(current))
        last = getattr(current, "last_exception", None)
        current = last if isinstance(last, BaseException) else (current.__cause__ or current.__context__)
    return None


def error_code(err: BaseException | None) -> str:
    """The S3 error code of a ``ClientError`` (``"404"`` for a body-less HEAD response), else ``""``."""
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(err: BaseException) -> bool:
    """Whether ``err`` says the store could not be reached or failed on its side (HTTP 5xx), so that the same
    request may succeed later, as opposed to a refusal that would be repeated."""
    cause = driver_error(err)
    if isinstance(cause, (BotoConnectionError, BotoHTTPClientError)):
        return True
    if isinstance(cause, ClientError):
        return int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0) >= 500
    return False


def translate(err: BaseException, action: str, bucket: str, endpoint: str) -> EboniteError | None:
    """The ebonite error for a failed driver call, or ``None`` if ``err`` does not come from the driver.

    ``action`` says what was attempted ("push artifacts under key 'abc'"); ``endpoint`` describes where.
    """
    cause = driver_error(err)
    if cause is None:
        return None
    where = f"Cannot {action} in S3 bucket {bucket!r} at {endpoint}"
    if isinstance(cause, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        return S3AccessError(
            f"{where}: boto3 found no usable credentials ({cause}). Provide them the way boto3 reads them: "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE) or an instance role."
        )
    if isinstance(cause, (BotoConnectionError, BotoHTTPClientError)):
        return RepositoryError(
            f"{where}: the endpoint cannot be reached ({type(cause).__name__}: {cause}). Check the endpoint "
            "URL and that the server is running."
        )
    assert isinstance(cause, ClientError)  # every other driver error is a BotoCoreError
    code = error_code(cause)
    message = _server_message(cause)
    if code in MISSING_BUCKET_CODES or (code in MISSING_OBJECT_CODES and cause.operation_name == "HeadBucket"):
        return RepositoryError(
            f"{where}: the bucket does not exist. Create it, or pass create_bucket=True to create it on first use."
        )
    if code in BAD_CREDENTIALS_CODES:
        return S3AccessError(
            f"{where}: the server rejected the credentials ({code}{message}). Check the access key and secret "
            "that boto3's credential chain provides (environment, profile or instance role)."
        )
    if code in ACCESS_DENIED_CODES:
        return S3AccessError(
            f"{where}: access denied ({code}{message}). The credentials need s3:ListBucket, s3:GetObject, "
            "s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload on this bucket (and prefix)."
        )
    if code in CHECKSUM_CODES:
        return ArtifactIntegrityError(
            f"{where}: the server refused the upload because its checksum did not match the data it "
            f"received ({code}{message}). The data was damaged in transit or changed while being read."
        )
    label = code or type(cause).__name__
    return RepositoryError(f"{where}: {label}{message or ': ' + str(cause)}")


def _server_message(err: BaseException) -> str:
    if not isinstance(err, ClientError):
        return ""
    text = str(err.response.get("Error", {}).get("Message", "") or "")
    return f": {text}" if text else ""
