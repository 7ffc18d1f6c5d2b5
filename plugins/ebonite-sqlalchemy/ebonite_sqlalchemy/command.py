"""``ebonite db current`` and ``ebonite db upgrade``: the schema revision of the configured metadata database.

The database is the ``sqlalchemy`` metadata repository of the registry's config file (``--config`` or
``$EBONITE_CONFIG``). It is reached without opening the repository, which refuses a database at an older
revision: that is what ``upgrade`` is for. ``python -m ebonite_sqlalchemy`` does the same from a URL.
"""

from __future__ import annotations

import argparse
from typing import Any

from ebonite_core.cli import Command, UsageError, output
from ebonite_core.errors import ConfigError


def schema_report(action: str, db_uri: str, engine_kwargs: dict[str, Any]) -> str:
    """Run ``current`` (read the revision) or ``upgrade`` (migrate to the newest) and say what happened.

    Messages show the URL with its password masked; failures raise ``EboniteError``.
    """
    from .engine import database_errors, make_engine
    from .migrate import current_revision, ensure_schema, head_revision

    engine, shown = make_engine(db_uri, engine_kwargs)
    try:
        with database_errors(shown):
            with engine.connect() as connection:
                before = current_revision(connection)
            if action == "current":
                return f"{shown}: revision {before or '(empty database)'}; newest known: {head_revision()}"
            after = ensure_schema(engine, shown, upgrade=True)
    finally:
        engine.dispose()
    if before == after:
        return f"{shown}: already at the newest revision {after}"
    return f"{shown}: upgraded from {before or '(empty database)'} to {after}"


class DbCommand(Command):
    name = "db"
    help = "the SQL metadata database: show its schema revision (current) or upgrade it to the newest (upgrade)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "action",
            choices=["current", "upgrade"],
            help="current: the revision the database is at; upgrade: migrate it (back it up first)",
        )

    def run(self, args: argparse.Namespace) -> int:
        metadata = self.config(args).metadata
        if metadata.type != "sqlalchemy":
            raise UsageError(
                f"ebonite db works on a 'sqlalchemy' metadata repository; the config names {metadata.type!r}."
            )
        options = dict(metadata.options)
        db_uri = options.pop("db_uri", None)
        options.pop("upgrade", None)  # this command decides whether to upgrade
        if not isinstance(db_uri, str) or not db_uri:
            raise UsageError("The sqlalchemy metadata repository of the config has no db_uri.")
        try:
            output.echo(schema_report(args.action, db_uri, options))
        except ConfigError as err:  # a URL that cannot work as written: the config file needs fixing
            raise UsageError(str(err)) from err
        return 0
