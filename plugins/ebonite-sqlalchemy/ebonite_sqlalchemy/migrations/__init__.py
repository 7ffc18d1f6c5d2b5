"""Alembic migrations of the ebonite-sqlalchemy schema (run through :mod:`ebonite_sqlalchemy.migrate`)."""
