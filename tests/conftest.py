"""Shared test helpers.

Tests that need a server (PostgreSQL, MariaDB, S3) call :func:`service_unavailable` when it cannot be
started: the test is skipped with the reason, except when ``EBONITE_REQUIRE_SERVICES=1`` (set by
``.ci/run``), where the run fails instead.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("EBONITE_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Skip (or, under EBONITE_REQUIRE_SERVICES=1, fail) the current test because a service is missing."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (EBONITE_REQUIRE_SERVICES=1: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)
