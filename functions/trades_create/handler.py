"""POST /api/trading/trades: validate an order, record it PENDING and queue it (202)."""

from typing import Annotated

from fastapi import Header
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.orders import service
from tradebot.orders.schemas import TradeCreate, TradePublic

route = RouteFunction("trades_create")


@route
def place_trade(
    body: TradeCreate,
    user_id: UserId,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    ] = None,
) -> TradePublic:
    return service.place_trade(user_id, body, idempotency_key)


handler = route.handler
