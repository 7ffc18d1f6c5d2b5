"""The errors of the ``fsspec`` repository, and the translation of every protocol's errors into ebonite's.

Every translated error names the operation and the store's URL with its password masked, and is raised
``from`` the original error, whose message is scrubbed of the store's secrets too::

    ConfigError (ebonite_core.errors, a ValueError)      an option value that cannot work as written
    ├── UnsupportedURLError                           a URL whose scheme no protocol speaks, or with no path
    └── ProtocolNotInstalledError (also ImportError)  the protocol's package is missing: the extra to install
    RepositoryError (ebonite_core.errors)                 unreachable, refused, failed on the server, ...
    └── FsspecAccessError (also PermissionError)          the credentials were refused, or access is denied
"""

from __future__ import annotations

from collections.abc import Iterable

from ebonite_core.errors import ConfigError, EboniteError, RepositoryError


# Both are the configuration's to fix, as ebonite-core's option checks are: the command line calls them usage
# errors (exit status 2).
class UnsupportedURLError(ConfigError):
    """The URL's scheme is not one the repository speaks (the message lists those it does), or it names no
    directory, container or bucket where an empty path would mean everything."""


class ProtocolNotInstalledError(ConfigError, ImportError):
    """The package of the URL's protocol is not installed (the message names the extra that installs it)."""


class FsspecAccessError(RepositoryError, PermissionError):
    """The server refused the credentials, or denied access to the store."""


# Errors that come from our own code rather than from a protocol: never translated, so that a bug shows.
_PROGRAMMING_ERRORS = (TypeError, AttributeError, NameError, AssertionError, ImportError)
_AUTH_NAMES = {"PermissionDenied", "ClientAuthenticationError"}  # asyncssh, azure-core
_HOST_KEY_NAMES = {"HostKeyNotVerifiable"}  # asyncssh
_UNREACHABLE_NAMES = {"ServiceRequestError", "ConnectError", "ConnectTimeout", "ClientConnectorError"}
_UNREACHABLE_NAMES |= {"ConnectionLost", "DisconnectError", "ServerDisconnectedError", "ReadTimeout"}


def _names(err: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(err).__mro__}


def _status(err: BaseException) -> int:
    """The HTTP status a driver error carries (webdav4, azure-core, gcsfs), else 0."""
    for holder in (err, getattr(err, "response", None)):
        for attribute in ("status_code", "status", "code"):
            value = getattr(holder, attribute, None)
            if isinstance(value, int) and 100 <= value < 600:
                return value
    return 0


def is_connection_lost(err: BaseException) -> bool:
    """Whether ``err`` says an established connection went away (an idle timeout, a server restart), so that
    the same operation on a new connection may succeed."""
    if isinstance(err, (EOFError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return True
    names = _names(err)
    if names & {"ConnectionLost", "DisconnectError", "ChannelOpenError"}:
        return True
    return "error_temp" in names and str(err).startswith("421")  # FTP: service closing control connection


def translate(err: BaseException, action: str, where: str, secrets: Iterable[str]) -> EboniteError | None:
    """The ebonite error for a protocol failure, or ``None`` for an error to raise as it is.

    ``action`` says what was attempted ("push artifacts under key 'abc'"), ``where`` names the store (its
    URL, masked). Every string of ``secrets`` is replaced by ``***`` in the message and in ``err`` itself.
    """
    if isinstance(err, EboniteError) or isinstance(err, _PROGRAMMING_ERRORS):
        return None
    scrub(err, secrets)
    names = _names(err)
    status = _status(err)
    detail = redact(f"{type(err).__name__}: {err}", secrets)
    head = f"Cannot {action} in {where}"
    if names & _HOST_KEY_NAMES:
        return FsspecAccessError(
            f"{head}: the server's host key is not trusted ({detail}). Add it to ~/.ssh/known_hosts "
            "(ssh-keyscan), or give the file as storage_options known_hosts."
        )
    if (
        isinstance(err, PermissionError)
        or names & _AUTH_NAMES
        or status in (401, 403)
        or ("error_perm" in names and str(err)[:3] in ("530", "532"))
    ):
        return FsspecAccessError(
            f"{head}: access denied ({detail}). Check the user name and password (or key, token) in the URL or "
            "storage_options, and the user's rights on the path."
        )
    if names & _UNREACHABLE_NAMES or isinstance(err, (ConnectionError, TimeoutError, EOFError)):
        return RepositoryError(
            f"{head}: the server cannot be reached ({detail}). Check the host and port, and that the server is up."
        )
    if isinstance(err, FileNotFoundError):
        return RepositoryError(f"{head}: a path of the store does not exist ({detail}). Check the URL's path.")
    return RepositoryError(f"{head}: {detail}")


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def scrub(err: BaseException, secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in the arguments of ``err`` and of the errors chained to it, so that a traceback or a
    log line showing them never shows a secret."""
    secrets = [secret for secret in secrets if secret]
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and secrets:
        seen.add(id(current))
        try:
            current.args = tuple(redact(arg, secrets) if isinstance(arg, str) else arg for arg in current.args)
        except (AttributeError, TypeError):  # an error type whose args cannot be set
            pass
        current = current.__cause__ or current.__context__
