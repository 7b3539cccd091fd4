"""GET /api/account/events: my security events, newest first, cursor-paginated."""

from typing import Annotated

from fastapi import Query
from tradebot.audit import events
from tradebot.audit.schemas import SecurityEventPublic
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

route = RouteFunction("account_events")


@route
def list_events(
    user_id: UserId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[SecurityEventPublic]:
    with unit_of_work() as session:
        return events.list_events(session, user_id, limit=limit, cursor=cursor)


handler = route.handler
