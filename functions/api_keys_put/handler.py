"""PUT /api/account/api-keys: store a Binance key and secret, encrypted."""

from tradebot.accounts import service
from tradebot.accounts.schemas import ApiKeyCreate, ApiKeyPublic
from tradebot.auth.stepup import require_step_up
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Otp, UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_put")


@route
def store_api_key(body: ApiKeyCreate, user_id: UserId, otp: Otp) -> ApiKeyPublic:
    with unit_of_work() as session:
        require_step_up(session, user_id, otp=otp)
        return service.store_api_key(session, user_id, body)


handler = route.handler
