"""ebonite-sqlalchemy: the ``sqlalchemy`` metadata repository for ebonite-core (SQLite, PostgreSQL, MariaDB).

Users need not import this package: ``Ebonite.custom_client(metadata="sqlalchemy", ...)`` finds it through
its entry point. ``from ebonite_sqlalchemy import SQLAlchemyMetaRepository`` works too; the class (and
SQLAlchemy) is imported on that first access only, so that loading the plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .migrate import SchemaVersionError
    from .repository import SQLAlchemyMetaRepository

__version__ = "0.1.0"
__all__ = ["SQLAlchemyMetaRepository", "SchemaVersionError", "__version__"]

_LAZY = {"SQLAlchemyMetaRepository": ".repository", "SchemaVersionError": ".migrate"}


def __getattr__(name: str) -> Any:
    # PEP 562: import the module that defines a public name on first access (it imports SQLAlchemy).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
