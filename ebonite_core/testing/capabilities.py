"""Capability flags: what a backend may honestly declare it cannot do, in the style of SQLAlchemy's dialect
requirements.

A contract class lists its capabilities as class attributes set to ``True``; a backend's test class sets
one to ``False`` to skip the tests that need it, with the reason shown in pytest's report::

    class TestMyMetadata(MetadataRepositoryContract):
        supports_concurrent_processes = False   # one process at a time: say so in your README too
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])


def requires(capability: str) -> Callable[[F], F]:
    """Skip the decorated contract test when the test class sets ``capability`` to ``False``."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not getattr(self, capability):
                pytest.skip(f"{type(self).__name__} declares {capability} = False")
            return function(self, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def missing_factory(kind: str, capabilities: str) -> NotImplementedError:
    return NotImplementedError(
        f"Override the {kind}_factory fixture (a picklable callable returning a new repository object on one "
        f"shared, initially empty store), or declare {capabilities} = False in your test class."
    )
