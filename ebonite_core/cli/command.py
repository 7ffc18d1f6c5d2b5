"""What every ``ebonite`` command is given: the error for a wrong command line, and the registry its
options name (the interface itself is :class:`ebonite_core.interfaces.Command`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..client import Ebonite
from ..config import CONFIG_VARIABLE, ClientConfig, parse_config
from ..errors import ConfigError, DuplicateBackendError, EboniteError, UnknownBackendError


class UsageError(EboniteError):
    """The command line or the configuration is wrong: ``ebonite`` prints the message and exits with 2."""


def open_client(config: str | None, require_existing: bool = True) -> Ebonite:
    """The client a config file names, or :meth:`Ebonite.from_env`'s: ``$EBONITE_CONFIG``, else ``.ebonite``.

    Problems with the configuration (a missing file, an unknown backend type...) are usage errors. With
    ``require_existing``, the implicit ``.ebonite`` store must exist: a command run in the wrong directory
    says so instead of showing an empty registry.
    """
    try:
        if config:
            return Ebonite.from_config(config)
        if os.environ.get(CONFIG_VARIABLE):
            return Ebonite.from_env()
    except (ConfigError, UnknownBackendError, DuplicateBackendError) as err:
        raise UsageError(str(err)) from err
    if require_existing and not Path(".ebonite").is_dir():
        raise UsageError(
            f"No registry here: {Path('.ebonite').absolute()} does not exist. Run ebonite where .ebonite is, "
            f"pass --config FILE, or set {CONFIG_VARIABLE}."
        )
    return Ebonite.local()


def read_config(command: str, config: str | None) -> ClientConfig:
    """The configuration a config file (or ``$EBONITE_CONFIG``) names, read and checked but not opened; a
    :class:`UsageError` when there is none or it is unusable."""
    source = config or os.environ.get(CONFIG_VARIABLE)
    if not source:
        raise UsageError(f"ebonite {command} needs a config file: pass --config FILE or set {CONFIG_VARIABLE}.")
    try:
        return parse_config(source)
    except (ConfigError, UnknownBackendError, DuplicateBackendError) as err:
        raise UsageError(str(err)) from err
