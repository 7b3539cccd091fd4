"""PUT /api/account/limits: lower limits or pause at once; raise or unpause with the password."""

from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Otp, UserId
from tradebot.http.function import RouteFunction
from tradebot.limits import service
from tradebot.limits.schemas import LimitsPublic, LimitsUpdate

route = RouteFunction("limits_put")


@route
def update_limits(body: LimitsUpdate, user_id: UserId, otp: Otp) -> LimitsPublic:
    with unit_of_work() as session:
        return service.update_limits(session, user_id, body, otp)


handler = route.handler
