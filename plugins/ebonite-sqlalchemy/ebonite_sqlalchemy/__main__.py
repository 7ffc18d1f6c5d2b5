"""``python -m ebonite_sqlalchemy``: show or upgrade the schema revision of a metadata database.

    python -m ebonite_sqlalchemy current 'postgresql+psycopg://user:password@host/registry'
    python -m ebonite_sqlalchemy upgrade 'postgresql+psycopg://user:password@host/registry'

The URL may also come from the environment variable ``EBONITE_DB_URI`` (it keeps the password out of the
process list). ``upgrade`` takes the same migration lock as the repository; back the database up first.
``ebonite db current`` / ``ebonite db upgrade`` do the same for the database of a registry's config file.
"""

from __future__ import annotations

import argparse
import os
import sys

from ebonite_core.cli import output
from ebonite_core.errors import EboniteError

URL_VARIABLE = "EBONITE_DB_URI"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ebonite_sqlalchemy", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["current", "upgrade"], help="show the revision, or upgrade to the newest")
    parser.add_argument("db_uri", nargs="?", default=os.environ.get(URL_VARIABLE), help=f"default: ${URL_VARIABLE}")
    arguments = parser.parse_args(argv)
    if not arguments.db_uri:
        parser.error(f"give the database URL as an argument or in ${URL_VARIABLE}")

    from .command import schema_report

    try:
        output.echo(schema_report(arguments.command, arguments.db_uri, {}))
    except EboniteError as err:
        output.echo(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
