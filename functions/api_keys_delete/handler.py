"""DELETE /api/account/api-keys: forget the key; back to paper trading."""

from tradebot.accounts import service
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_delete")


@route
def delete_api_key(user_id: UserId) -> None:
    with unit_of_work() as session:
        service.delete_api_key(session, user_id)


handler = route.handler
