"""Tags: short strings stored with a model to find it by. The rules on them are ``ebonite_core.names.check_tags``;
the contract every metadata backend keeps is ``ebonite_core.testing.TagsContract``, run here on the built-in
ones (the client's side, ``set_model_tags``, is in the client contract)."""

from __future__ import annotations

import pytest
from core_backends import InMemoryMetadata, LocalMetadata

from ebonite_core import InvalidNameError
from ebonite_core.names import MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, check_tags
from ebonite_core.testing import TagsContract


class TestInMemoryTags(InMemoryMetadata, TagsContract):
    pass


class TestLocalTags(LocalMetadata, TagsContract):
    pass


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["stage"], "must be a dict"),
        ({"": "x"}, "Invalid tag name ''"),
        ({"a/b": "x"}, "Invalid tag name 'a/b'"),
        ({"k" * (MAX_TAG_KEY_LENGTH + 1): "x"}, f"longer than {MAX_TAG_KEY_LENGTH}"),
        ({"stage": 1}, "must be a string, not int"),
        ({"stage": "x" * (MAX_TAG_VALUE_LENGTH + 1)}, f"at most {MAX_TAG_VALUE_LENGTH} characters"),
        ({"stage": "a\nb"}, "without control characters"),
        ({"stage": "\udcff"}, "lone surrogates"),
    ],
)
def test_invalid_tags_are_refused_with_the_rule_they_break(tags: object, message: str) -> None:
    with pytest.raises(InvalidNameError, match=message):
        check_tags(tags)


def test_valid_tags_come_back_as_a_new_dict() -> None:
    tags = {"stage": "production", "clé": "välue", "k" * MAX_TAG_KEY_LENGTH: "v" * MAX_TAG_VALUE_LENGTH}
    checked = check_tags(tags)
    assert checked == tags and checked is not tags
