"""PUT /api/account/api-keys: check a Binance key with Binance, then store it encrypted."""

from tradebot.accounts import service
from tradebot.accounts.schemas import ApiKeyCreate, ApiKeyPublic
from tradebot.auth.stepup import require_step_up
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Otp, UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("api_keys_put")


@route
def store_api_key(body: ApiKeyCreate, user_id: UserId, otp: Otp) -> ApiKeyPublic:
    # The step-up first: a key is checked with Binance (the shared IP's weight) only for the
    # account's owner.
    with unit_of_work() as session:
        require_step_up(session, user_id, otp=otp)
    return service.store_checked_key(user_id, body)


handler = route.handler
