"""GET /api/account/limits: my risk limits and kill switch (defaults where I set none)."""

from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.limits import service
from tradebot.limits.schemas import LimitsPublic

route = RouteFunction("limits_get")


@route
def get_limits(user_id: UserId) -> LimitsPublic:
    with unit_of_work() as session:
        return service.get_limits(session, user_id)


handler = route.handler
