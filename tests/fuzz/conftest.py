"""The fuzz tests share the security suite's users and cached prices."""

import pytest

from tests.security.conftest import alice, prices

__all__ = ["alice", "prices"]


@pytest.fixture(autouse=True)
def _stores(clean_state: None) -> None:
    """This tier runs against the database and Redis (tests/stores.py), clean for each test."""
