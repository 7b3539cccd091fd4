"""GET /api/trading/trades: my trades, newest first, filtered and cursor-paginated."""

from typing import Annotated

from fastapi import Query
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.orders import service
from tradebot.orders.schemas import Timestamp, TradePublic, TradeStatus
from tradebot.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

route = RouteFunction("trades_list")


@route
def list_trades(
    user_id: UserId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    status: TradeStatus | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> Page[TradePublic]:
    with unit_of_work() as session:
        return service.list_trades(
            session, user_id, limit=limit, cursor=cursor, symbol=symbol, status=status,
            since=since, until=until,
        )  # fmt: skip


handler = route.handler
