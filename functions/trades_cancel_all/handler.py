"""POST /api/trading/cancel-all: cancel every open order of the caller (202), never a 429."""

from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.orders import service
from tradebot.orders.schemas import CancelAllPublic

route = RouteFunction("trades_cancel_all")


@route
def cancel_all_trades(user_id: UserId) -> CancelAllPublic:
    return service.cancel_all_trades(user_id)


handler = route.handler
