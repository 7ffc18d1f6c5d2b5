"""The module the ``ebonite`` entry point names: hook implementations only.

Importing it must stay cheap and must not import SQLAlchemy: ``ebonite plugins`` and every lookup of
another type load this module too. The backend class is imported inside the hook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ebonite_core import MetadataRepository, hookimpl

if TYPE_CHECKING:
    from ebonite_core.cli import Command


@hookimpl
def ebonite_metadata_repositories() -> Iterable[type[MetadataRepository]]:
    from .repository import SQLAlchemyMetaRepository

    return [SQLAlchemyMetaRepository]


@hookimpl
def ebonite_commands() -> Iterable[type[Command]]:
    from .command import DbCommand

    return [DbCommand]
