"""GET /api/market/prices/{symbol}: one symbol's cached price."""

from typing import Annotated

from fastapi import Path
from tradebot.http.function import RouteFunction
from tradebot.market.schemas import PricePublic
from tradebot.market.service import get_price

route = RouteFunction("market_price")


@route
def price(symbol: Annotated[str, Path(min_length=2, max_length=20)]) -> PricePublic:
    return get_price(symbol)


handler = route.handler
