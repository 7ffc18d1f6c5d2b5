"""Keeping secrets out of everything ebonite shows or writes: one function masks them, wherever they surface.

A secret is found where it is given: a repository's option named like one (``password``, ``token``...), or
the password inside a URL, found by the parser of the library that reads the URL (:func:`hide_url_secrets`
with :mod:`urllib.parse` by default; a backend overrides its class's ``hide_secrets`` to use its driver's:
ebonite-sqlalchemy uses SQLAlchemy's ``make_url``). Each secret found is remembered for this process, and
:func:`mask` replaces it, in every form a URL may spell it, by ``***``: in a repository's ``repr``, in error
messages, in logs and in everything the ``ebonite`` command prints. ``Ebonite.save_config`` writes
``${VARIABLE}`` references in their place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

MASK = "***"
# Secrets shorter than this are masked where they are found (a URL's password) but not searched for in free
# text, where masking every "ab" would garble messages beyond use.
MIN_REMEMBERED = 4

_SECRET_WORDS = {"secret", "password", "passwd", "pwd", "token", "key", "apikey", "credential", "credentials"}
_SECRET_WORDS |= {"passphrase", "auth", "sslpassword"}
# Whole names that hold secrets among other things (an Azure connection string carries the account key).
_SECRET_NAMES = {"connection_string", "connectionstring", "conn_str"}
# The last word of a name that holds something next to a secret rather than the secret itself.
_NOT_SECRET_ENDINGS = {"id", "prefix", "name", "path", "file", "dir", "env", "var", "variable", "length", "size"}
_NOT_SECRET_ENDINGS |= {"type", "field", "header", "url", "uri", "endpoint", "region", "mode"}

_remembered: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def is_secret_name(name: str) -> bool:
    """Whether an option (or a URL query parameter) called ``name`` holds a secret: ``password``,
    ``secret_key``, ``api_token``... but not ``key_prefix``, ``access_key_id`` or ``token_url``."""
    words = [word.lower() for word in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", name) if word]
    if "_".join(words) in _SECRET_NAMES:
        return True
    if not words or words[-1] in _NOT_SECRET_ENDINGS:
        return False
    return any(word in _SECRET_WORDS for word in words)


def remember(secret: str) -> None:
    """Mask ``secret`` from now on in everything :func:`mask` sees, in this process."""
    global _pattern
    if not isinstance(secret, str) or len(secret) < MIN_REMEMBERED or secret == MASK:
        return
    with _lock:
        if secret in _remembered:
            return
        _remembered.add(secret)
        forms = {form for known in _remembered for form in _forms(known)}
        _pattern = re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


def _forms(secret: str) -> set[str]:
    """How text may spell ``secret``: as it is, and percent-encoded as URLs and their query strings do."""
    return {secret, quote(secret, safe=""), quote(secret, safe="/:"), quote_plus(secret), quote_plus(secret, "/:")}


def mask(text: str) -> str:
    """``text`` with every secret this process was given (see :func:`remember`) replaced by ``***``: the one
    function every output path uses (reprs, errors, logs, the command line)."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None and text else text


def hide_url_secrets(value: str, hide: Callable[[str, str], str]) -> str:
    """``value`` with the secrets of the URL it holds replaced by ``hide(label, secret)``, parsed with
    :mod:`urllib.parse`: the password (label ``password``) and query parameters named like a secret (label
    ``query_<name>``). Text that is no URL with a password comes back unchanged.

    This is the default of ``ArtifactRepository.hide_secrets`` and ``MetadataRepository.hide_secrets``; a
    backend whose URLs a driver parses differently overrides it with the driver's parser, so that what is
    masked is exactly what the driver will read as the password.
    """
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not parts.scheme or not parts.netloc:
        return value
    netloc = parts.netloc
    if password:
        user_info, _, host = parts.netloc.rpartition("@")
        user = user_info.partition(":")[0]
        netloc = f"{user}:{hide('password', unquote_plus(password))}@{host}"
    query = "&".join(_hide_parameter(item, hide) for item in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _hide_parameter(item: str, hide: Callable[[str, str], str]) -> str:
    name, equals, value = item.partition("=")
    if equals and value and is_secret_name(unquote_plus(name)):
        return f"{name}={hide(f'query_{unquote_plus(name)}', unquote_plus(value))}"
    return item


def hide_option_secrets(
    repository_class: Any, options: Mapping[str, Any], hide: Callable[[str, str, str], str]
) -> dict[str, Any]:
    """``options`` of a repository with every secret replaced by ``hide(option, label, secret)``: whole values
    of options named like a secret (label ``""``), and the secrets the class's ``hide_secrets`` finds inside
    the others (URLs). Nested tables are walked, their option names joined with ``_``."""
    result: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, dict):
            result[name] = hide_option_secrets(repository_class, value, _prefixed(hide, name))
        elif isinstance(value, str) and value and is_secret_name(name):
            result[name] = hide(name, "", value)
        elif isinstance(value, str):
            result[name] = repository_class.hide_secrets(name, value, _bound(hide, name))
        else:
            result[name] = value
    return result


def _prefixed(hide: Callable[[str, str, str], str], prefix: str) -> Callable[[str, str, str], str]:
    return lambda option, label, secret: hide(f"{prefix}_{option}", label, secret)


def _bound(hide: Callable[[str, str, str], str], option: str) -> Callable[[str, str], str]:
    return lambda label, secret: hide(option, label, secret)


def masked_options(repository_class: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` as they may be shown: every secret replaced by ``***``, and remembered (see :func:`mask`)."""

    def hide(option: str, label: str, secret: str) -> str:
        remember(secret)
        return MASK

    return hide_option_secrets(repository_class, options, hide)


def masked_value(repository_class: Any, option: str, value: str) -> str:
    """One option's value as it may be shown (see :func:`masked_options`)."""
    return masked_options(repository_class, {option: value})[option]


def remember_repository(repository: Any) -> None:
    """Remember the secrets among a repository's options (``config()``), so that :func:`mask` hides them in
    whatever mentions them; a repository that cannot describe its options is left as it is."""
    try:
        options = repository.config()
    except Exception:  # NotImplementedError, or a backend's own failure: nothing to learn from
        return
    if isinstance(options, dict):
        masked_options(type(repository), options)
