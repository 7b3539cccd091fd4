"""POST /api/account/2fa/confirm: the first code turns 2FA on; the recovery codes, shown once."""

from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.twofactor import service
from tradebot.twofactor.schemas import OtpConfirm, RecoveryCodes

route = RouteFunction("twofa_confirm")


@route
def confirm_enrolment(body: OtpConfirm, user_id: UserId) -> RecoveryCodes:
    with unit_of_work() as session:
        return service.confirm_enrolment(session, user_id, body.otp.get_secret_value())


handler = route.handler
