"""What a subcommand of ``ebonite`` is, built in or added by a plugin, and how it finds its registry."""

from __future__ import annotations

import argparse
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..errors import ConfigError, DuplicateBackendError, EboniteError, UnknownBackendError

if TYPE_CHECKING:
    from ..client import Ebonite
    from ..config import ClientConfig


class UsageError(EboniteError):
    """The command line or the configuration is wrong: ``ebonite`` prints the message and exits with 2."""


class Command(ABC):
    """A subcommand of ``ebonite``; plugins add theirs through the ``ebonite_commands`` hook.

    ``run`` returns the exit status. Raise :class:`UsageError` when the command line is wrong (exit status
    2) and an :class:`~ebonite_core.errors.EboniteError` when the work fails (exit status 1): ``ebonite``
    prints its message as one line on stderr, and a traceback only with ``--debug``. Every command gets
    the global ``--config`` and ``--debug`` options; :meth:`client` opens the registry they name. Write
    your own::

        class DbCommand(Command):
            name = "db"
            help = "manage the database schema"

            def add_arguments(self, parser):
                parser.add_argument("action", choices=["upgrade", "current"])

            def run(self, args):
                repository = self.client(args).meta_repo
                ...
                return 0

    and return it from the hook: ``@hookimpl def ebonite_commands(): return [DbCommand]``.
    """

    name: ClassVar[str]
    help: ClassVar[str] = ""

    def __init__(self) -> None:
        self._client: Ebonite | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional
        """Add this command's options and arguments to its parser; the default adds none."""

    @abstractmethod
    def run(self, args: argparse.Namespace) -> int:
        """Do the work; return the exit status (0 for success)."""

    def client(self, args: argparse.Namespace) -> Ebonite:
        """The registry ``--config`` names, else the one :meth:`Ebonite.from_env` gives (opened once)."""
        if self._client is None:
            self._client = open_client(getattr(args, "config", None))
        return self._client

    def config(self, args: argparse.Namespace) -> ClientConfig:
        """The configuration ``--config`` or ``$EBONITE_CONFIG`` names, read and checked but not opened:
        for commands that must reach a backend before a client can open it (``ebonite db upgrade``). Without
        a config file (the implicit ``.ebonite`` store), a :class:`UsageError`."""
        from ..config import CONFIG_VARIABLE, parse_config

        source = getattr(args, "config", None) or os.environ.get(CONFIG_VARIABLE)
        if not source:
            raise UsageError(f"ebonite {self.name} needs a config file: pass --config FILE or set {CONFIG_VARIABLE}.")
        try:
            return parse_config(source)
        except (ConfigError, UnknownBackendError, DuplicateBackendError) as err:
            raise UsageError(str(err)) from err


def open_client(config: str | None, require_existing: bool = True) -> Ebonite:
    """The client a config file names, or :meth:`Ebonite.from_env`'s: ``$EBONITE_CONFIG``, else ``.ebonite``.

    Problems with the configuration (a missing file, an unknown backend type...) are usage errors. With
    ``require_existing``, the implicit ``.ebonite`` store must exist: a command run in the wrong directory
    says so instead of showing an empty registry.
    """
    from ..client import Ebonite
    from ..config import CONFIG_VARIABLE

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
