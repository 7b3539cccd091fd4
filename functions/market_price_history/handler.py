"""GET /api/market/prices/{symbol}/history: a symbol's chart points over the last 1 h or 24 h."""

from typing import Annotated

from fastapi import Path, Query
from tradebot.http.function import RouteFunction
from tradebot.market.history import HistoryWindow
from tradebot.market.schemas import PriceHistory
from tradebot.market.service import get_price_history

route = RouteFunction("market_price_history")


@route
def price_history(
    symbol: Annotated[str, Path(min_length=2, max_length=20)],
    window: Annotated[HistoryWindow, Query()] = "1h",
) -> PriceHistory:
    return get_price_history(symbol, window)


handler = route.handler
