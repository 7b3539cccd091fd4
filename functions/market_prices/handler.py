"""GET /api/market/prices: the latest cached prices."""

from tradebot.http.function import RouteFunction
from tradebot.market.schemas import PriceList
from tradebot.market.service import list_prices

route = RouteFunction("market_prices")


@route
def prices() -> PriceList:
    return list_prices()


handler = route.handler
