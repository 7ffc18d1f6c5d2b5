"""The ``ebonite`` command: look into a registry, check it, clean it, move it.

Every subcommand is a :class:`Command`, found through the ``ebonite_commands`` hook: the built-in ones
(``ls``, ``show``, ``rm``, ``verify``, ``gc``, ``copy``, ``plugins``) exactly like those of plugins (the SQL
plugin's ``db``). The registry is the one ``--config FILE`` names, else the one ``Ebonite.from_env()``
gives: ``$EBONITE_CONFIG``, else ``.ebonite`` in the working directory.

Errors print one line on stderr saying what to do, and exit with status 2 for usage errors (a malformed
command line or path, a missing or unusable config file, an unknown backend type, no registry where one
was looked for) and 1 for failures (a path that does not exist, an unreadable or unreachable store,
problems found by ``verify``, a declined ``rm``). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

from ..interfaces import Command
from .command import UsageError
from .main import build_parser, main

__all__ = ["Command", "UsageError", "build_parser", "main"]
