"""PUT /api/account/api-keys: store a Binance key and secret, encrypted."""

from tradebot.accounts import service
from tradebot.accounts.schemas import ApiKeyCreate, ApiKeyPublic
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_put")


@route
def store_api_key(body: ApiKeyCreate, user_id: UserId) -> ApiKeyPublic:
    with unit_of_work() as session:
        return service.store_api_key(session, user_id, body)


handler = route.handler
