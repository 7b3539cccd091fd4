"""GET /api/trading/trades/{trade_id}: one of my trades."""

from typing import Annotated

from fastapi import Path
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.orders import service
from tradebot.orders.schemas import TradePublic

route = RouteFunction("trades_get")


@route
def get_trade(trade_id: Annotated[str, Path(max_length=36)], user_id: UserId) -> TradePublic:
    with unit_of_work() as session:
        return service.get_trade(session, user_id, trade_id)


handler = route.handler
