"""``python -m ebonite_sqlalchemy``: show or upgrade the schema revision of a metadata database.

    python -m ebonite_sqlalchemy current 'postgresql+psycopg://user:password@host/registry'
    python -m ebonite_sqlalchemy upgrade 'postgresql+psycopg://user:password@host/registry'

The URL may also come from the environment variable ``EBONITE_DB_URI`` (it keeps the password out of the
process list). ``upgrade`` takes the same migration lock as the repository; back the database up first.
"""

from __future__ import annotations

import argparse
import os
import sys

from ebonite_core.errors import EboniteError

URL_VARIABLE = "EBONITE_DB_URI"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ebonite_sqlalchemy", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["current", "upgrade"], help="show the revision, or upgrade to the newest")
    parser.add_argument("db_uri", nargs="?", default=os.environ.get(URL_VARIABLE), help=f"default: ${URL_VARIABLE}")
    arguments = parser.parse_args(argv)
    if not arguments.db_uri:
        parser.error(f"give the database URL as an argument or in ${URL_VARIABLE}")

    from .engine import database_errors, make_engine
    from .migrate import current_revision, ensure_schema, head_revision

    try:
        engine, shown = make_engine(arguments.db_uri, {})
        try:
            with database_errors(shown):
                with engine.connect() as connection:
                    before = current_revision(connection)
                if arguments.command == "current":
                    print(f"{shown}: revision {before or '(empty database)'}; newest known: {head_revision()}")
                    return 0
                after = ensure_schema(engine, shown, upgrade=True)
        finally:
            engine.dispose()
    except EboniteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{shown}: already at the newest revision {after}")
    else:
        print(f"{shown}: upgraded from {before or '(empty database)'} to {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
