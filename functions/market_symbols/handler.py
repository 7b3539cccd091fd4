"""GET /api/market/symbols: tradable symbols with their filters (from cache, never Binance)."""

from tradebot.http.function import RouteFunction
from tradebot.market.schemas import SymbolList
from tradebot.market.service import list_symbols

route = RouteFunction("market_symbols")


@route
def symbols() -> SymbolList:
    return list_symbols()


handler = route.handler
