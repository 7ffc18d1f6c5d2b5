"""Small helpers of the contract suites: a refusal that must happen, said with the values involved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def refused(error: type[BaseException], what: str) -> Iterator[None]:
    """Expect the block to raise ``error``; fail with ``"<what> did not raise <error>"`` otherwise, so that a
    failing contract test names the call and its arguments (``pytest.raises`` names the error only)."""
    try:
        yield
    except error:
        return
    pytest.fail(f"{what} did not raise {error.__name__}")
