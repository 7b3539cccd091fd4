"""POST /api/account/2fa: start TOTP enrolment; the secret is shown this once."""

from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.twofactor import service
from tradebot.twofactor.schemas import TwoFactorEnrolment

route = RouteFunction("twofa_start")


@route
def start_enrolment(user_id: UserId) -> TwoFactorEnrolment:
    with unit_of_work() as session:
        return service.start_enrolment(session, user_id)


handler = route.handler
