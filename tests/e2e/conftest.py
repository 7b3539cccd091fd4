"""The local stack as a client sees it, with its own database and Redis namespace."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _stores(clean_state: None) -> None:
    """This tier runs against the database and Redis (tests/stores.py), clean for each test."""
