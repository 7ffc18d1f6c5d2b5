"""The command interface: a subcommand of ``ebonite``, built in or added by a plugin."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import argparse


class Command(ABC):
    """A subcommand of ``ebonite``; plugins add theirs through the ``ebonite_commands`` hook.

    ``run`` returns the exit status. Raise :class:`ebonite_core.cli.UsageError` when the command line is wrong
    (exit status 2) and an :class:`~ebonite_core.errors.EboniteError` when the work fails (exit status 1):
    ``ebonite`` prints its message as one line on stderr, and a traceback only with ``--debug``. Every command
    gets the global ``--config`` and ``--debug`` options; :meth:`client` opens the registry they name. Write
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
        self._client: Any = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional
        """Add this command's options and arguments to its parser; the default adds none."""

    @abstractmethod
    def run(self, args: argparse.Namespace) -> int:
        """Do the work; return the exit status (0 for success)."""

    # ``ebonite``'s parser puts the functions that open the registry into ``args`` (``open_registry``,
    # ``read_registry_config``): the command line decides where the registry is, the command only uses it.
    def client(self, args: argparse.Namespace) -> Any:
        """The :class:`~ebonite_core.Ebonite` client on the registry ``--config`` names, else the one
        :meth:`Ebonite.from_env <ebonite_core.Ebonite.from_env>` gives (opened once)."""
        if self._client is None:
            self._client = args.open_registry(getattr(args, "config", None))
        return self._client

    def config(self, args: argparse.Namespace) -> Any:
        """The :class:`~ebonite_core.config.ClientConfig` that ``--config`` or ``$EBONITE_CONFIG`` names, read
        and checked but not opened: for commands that must reach a backend before a client can open it
        (``ebonite db upgrade``). Without a config file (the implicit ``.ebonite`` store), a ``UsageError``."""
        return args.read_registry_config(self.name, getattr(args, "config", None))
