"""Run one function in-process with an event file: `make invoke FN=notes_create EVENT=...`.

Events that carry `${ACCESS_TOKEN}` get a token of a new session of the local demo user, who is
created on first use, so every sample event runs as-is against the local database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tradebot.auth.passwords import hash_password
from tradebot.auth.sessions import open_session
from tradebot.db.engine import unit_of_work
from tradebot.db.migrate import upgrade
from tradebot.db.models import User

from devstack.functions import load_function
from devstack.lambda_events import TOKEN_PLACEHOLDER, FakeLambdaContext, load_event

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-for-local-only"  # noqa: S105 - local demo account


def demo_user_id() -> str:
    """The local demo user's id, creating the user if needed."""
    with unit_of_work() as session:
        user_id = session.scalar(select(User.id).where(User.email == DEMO_EMAIL))
        if user_id is None:
            user = User(email=DEMO_EMAIL, password_hash=hash_password(DEMO_PASSWORD))
            session.add(user)
            session.flush()
            user_id = user.id
        return user_id


def demo_access_token() -> str:
    """An access token of a new session of the demo user (as a login would open)."""
    user_id = demo_user_id()
    with unit_of_work() as session:
        return open_session(session, user_id).access.access_token


def invoke(function: str, event_path: str) -> Any:
    """Invoke `functions/<function>` with the event at `event_path`; returns its response."""
    upgrade()
    raw = Path(event_path).read_text()
    demo_user_id()  # also what the login sample logs in as
    token = demo_access_token() if TOKEN_PLACEHOLDER in raw else None
    event = load_event(event_path, access_token=token)
    return load_function(function).handler(event, FakeLambdaContext(function_name=function))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make invoke FN=<function> EVENT=events/<function>.json", file=sys.stderr)
        return 2
    print(json.dumps(invoke(argv[0], argv[1]), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
