"""Search: ``Ebonite.search_models`` and ``latest_model``. The rules (filters, order, keyset pages and their
tokens) are ``ebonite_core.query.ModelQuery``'s, tested here; the contract every metadata backend keeps is
``ebonite_core.testing.SearchContract``, run here on the built-in backends and on one that searches with the
interface's default (a walk over every model, what a third-party backend gets without overriding it)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from core_backends import InMemoryMetadata, LocalMetadata

from ebonite_core import InMemoryMetadataRepository, MetadataRepository
from ebonite_core.query import ModelQuery
from ebonite_core.testing import SearchContract, make_model


class TestInMemorySearch(InMemoryMetadata, SearchContract):
    pass


class TestLocalSearch(LocalMetadata, SearchContract):
    pass


class ScanningMetadataRepository(InMemoryMetadataRepository):
    """Searches with the interface's default, as a third-party backend that does not override it would."""

    search_models = MetadataRepository.search_models


class TestDefaultSearch(SearchContract):
    @pytest.fixture
    def metadata_repository(self) -> MetadataRepository:
        return ScanningMetadataRepository()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"order_by": "size"}, "Cannot order by 'size'"),
        ({"order_by": "params."}, "Cannot order by"),
        ({"order_by": "tags."}, "text_params.<key> \\(strings\\) or tags.<key>"),
        ({"limit": 0}, "limit must be an integer from 1 to 1000"),
        ({"limit": 1001}, "limit must be an integer from 1 to 1000"),
        ({"created_after": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"tags": {"stage": 1}}, "tags must map strings to strings"),
        ({"params": {"accuracy": ("~", 1)}}, "Unknown comparison '~'"),
        ({"params": {"accuracy": (">", "high")}}, "needs a number"),
        ({"params": {"accuracy": [1, 2]}}, "compare with a string or a number"),
        ({"params": {"accuracy": float("nan")}}, "compare with a string or a number"),
        # No stored text holds NUL (PostgreSQL cannot): a search for one is refused, never sent to the database.
        ({"params": {"kernel": "a\x00"}}, "NUL character"),
        ({"params": {"\x00": 1}}, "NUL character"),
        ({"tags": {"stage": "\x00"}}, "NUL character"),
        ({"order_by": "text_params.\x00"}, "NUL character"),
        ({"page_token": "garbage!"}, "Invalid page token"),
    ],
)
def test_bad_search_arguments_are_value_errors_naming_the_problem(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelQuery.create(**arguments)


def test_a_page_token_continues_only_the_order_it_was_made_for() -> None:
    by_name = ModelQuery.create(order_by="name")
    token = by_name.encode_token("m1", "7")
    assert ModelQuery.create(order_by="name", page_token=token).after == ("m1", "7")
    with pytest.raises(ValueError, match="made for order_by 'name', not 'creation_date'"):
        ModelQuery.create(page_token=token)


@pytest.mark.parametrize(
    ("order_by", "value"),
    [("creation_date", "noon"), ("name", 3), ("params.x", "high"), ("author", 3), ("text_params.x", 1.5)],
)
def test_a_query_refuses_a_sort_value_of_the_wrong_kind_however_it_is_built(order_by: str, value: object) -> None:
    """A page token is user input; a query built without create() (as a backend may) is checked the same."""
    query = ModelQuery.create(order_by=order_by)
    with pytest.raises(ValueError, match="page token"):
        ModelQuery.create(order_by=order_by, page_token=query.encode_token(value, "1"))
    with pytest.raises(ValueError, match="page token"):
        ModelQuery(order_field=query.order_field, after=(value, "1"))


def test_the_next_token_continues_after_the_last_model_of_a_page() -> None:
    query = ModelQuery.create(order_by="-params.accuracy", limit=2)
    models = [make_model(f"m{index}", "1", id=str(index), params={"accuracy": 1 - index / 10}) for index in range(3)]
    page = query.page_of(models)
    assert [model.name for model in page] == ["m0", "m1"] and page.next_page_token == query.next_token(models[1])
    following = ModelQuery.create(order_by="-params.accuracy", limit=2, page_token=page.next_page_token)
    assert following.after == (0.9, "1")
    assert query.page_of(models[:2]).next_page_token is None


def test_param_conditions_compare_numbers_with_numbers_and_strings_with_strings() -> None:
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    row = {"task_id": "1", "tags": {}, "creation_date": created.isoformat(), "params": {"a": 1, "b": "1", "c": True}}
    assert ModelQuery.create(params={"a": 1.0}).matches(row)
    assert not ModelQuery.create(params={"b": 1}).matches(row)
    assert ModelQuery.create(params={"b": "1"}).matches(row)
    assert not ModelQuery.create(params={"c": ("==", 1)}).matches(row), "a boolean is not the number 1"
    assert not ModelQuery.create(params={"a": ("!=", "x")}).matches(row), "a string condition needs a string"
