"""Alembic environment for the packaged migrations.

:mod:`ebonite_sqlalchemy.migrate` runs it on a connection it passes in ``config.attributes["connection"]``,
inside a transaction that holds the migration lock. Running ``alembic`` by hand against these migrations
also works (give ``sqlalchemy.url``), but takes no lock: prefer ``python -m ebonite_sqlalchemy upgrade``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from ebonite_sqlalchemy.schema import VERSION_TABLE, metadata

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    run_on(config.attributes["connection"])
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.connect() as connection:
        run_on(connection)
