"""Small helpers of the contract suites: a refusal that must happen, said with the values involved, and the
check of ``clean_leftovers`` that both repository contracts make."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

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


def clean_every_leftover(repository: Any, planted: str | None) -> None:
    """Run ``clean_leftovers`` with everything counting as old: a dry run reports (``planted`` among what it
    reports, when the test planted something), the run removes exactly that, and a second run finds nothing.
    The caller checks afterwards that everything stored is still there."""
    everything = datetime.now(timezone.utc) + timedelta(days=1)
    reported = repository.clean_leftovers(everything, dry_run=True)
    assert isinstance(reported, list) and all(isinstance(item, str) for item in reported), reported
    if planted is not None:
        assert any(planted in item for item in reported), f"{planted!r} not in {reported}"
    assert repository.clean_leftovers(everything) == reported, "a dry run must report what a run removes"
    assert repository.clean_leftovers(everything) == [], "what was removed must be gone"
