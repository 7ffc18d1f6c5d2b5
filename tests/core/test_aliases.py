"""Aliases: a name of a task (``"champion"``) pointing at one of its models. The rules on alias names are
``ebonite_core.names.check_alias``; the contract every metadata backend keeps is
``ebonite_core.testing.AliasesContract``, run here on the built-in ones."""

from __future__ import annotations

import pytest
from core_backends import InMemoryMetadata, LocalMetadata

from ebonite_core import InvalidNameError
from ebonite_core.names import check_alias
from ebonite_core.testing import AliasesContract


class TestInMemoryAliases(InMemoryMetadata, AliasesContract):
    pass


class TestLocalAliases(LocalMetadata, AliasesContract):
    pass


@pytest.mark.parametrize("alias", ["a@b", "", "a/b", " champion", "x" * 256, None])
def test_alias_names_follow_the_name_rules_without_at(alias: object) -> None:
    with pytest.raises(InvalidNameError):
        check_alias(alias)


def test_a_valid_alias_is_returned() -> None:
    assert check_alias("champion-2026.11") == "champion-2026.11"
