"""GET /api/account/api-keys: the stored key, masked."""

from tradebot.accounts import service
from tradebot.accounts.schemas import ApiKeyPublic
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_get")


@route
def get_api_key(user_id: UserId) -> ApiKeyPublic:
    with unit_of_work() as session:
        return service.get_api_key(session, user_id)


handler = route.handler
