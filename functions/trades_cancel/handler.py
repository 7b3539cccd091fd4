"""DELETE /api/trading/trades/{trade_id}: cancel an open order (202), 409 if it cannot be."""

from typing import Annotated

from fastapi import Path
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.orders import service
from tradebot.orders.schemas import TradePublic

route = RouteFunction("trades_cancel")


@route
def cancel_trade(trade_id: Annotated[str, Path(max_length=36)], user_id: UserId) -> TradePublic:
    return service.cancel_trade(user_id, trade_id)


handler = route.handler
