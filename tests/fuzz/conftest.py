"""The fuzz tests share the security suite's users and cached prices."""

from tests.security.conftest import alice, prices

__all__ = ["alice", "prices"]
