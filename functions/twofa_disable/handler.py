"""DELETE /api/account/2fa: turn two-factor authentication off, with the password and X-OTP."""

from tradebot.auth.stepup import require_step_up
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Otp, UserId
from tradebot.http.function import RouteFunction
from tradebot.twofactor import service
from tradebot.twofactor.schemas import TwoFactorDisable

route = RouteFunction("twofa_disable")


@route
def disable_two_factor(body: TwoFactorDisable, user_id: UserId, otp: Otp) -> None:
    with unit_of_work() as session:
        password = body.password.get_secret_value()
        require_step_up(session, user_id, password=password, otp=otp, password_required=True)
        service.disable(session, user_id)


handler = route.handler
