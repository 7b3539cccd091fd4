"""PUT /api/account/api-keys: check a Binance key with Binance, then store it encrypted."""

from tradebot.accounts import service
from tradebot.accounts.schemas import ApiKeyCreate, ApiKeyPublic
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_put")


@route
def store_api_key(body: ApiKeyCreate, user_id: UserId) -> ApiKeyPublic:
    return service.store_checked_key(user_id, body)


handler = route.handler
