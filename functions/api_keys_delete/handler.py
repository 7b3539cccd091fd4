"""DELETE /api/account/api-keys: forget the key; back to paper trading."""

from tradebot.accounts import service
from tradebot.auth.stepup import require_step_up
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Otp, UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_delete")


@route
def delete_api_key(user_id: UserId, otp: Otp) -> None:
    with unit_of_work() as session:
        require_step_up(session, user_id, otp=otp)
        service.delete_api_key(session, user_id)


handler = route.handler
