"""PUT /api/account/password: change my password; every other session ends."""

from tradebot.auth import account
from tradebot.auth.schemas import PasswordChange
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Caller, Otp
from tradebot.http.function import RouteFunction

route = RouteFunction("password_change")


@route
def change_password(body: PasswordChange, caller: Caller, otp: Otp) -> None:
    with unit_of_work() as session:
        account.change_password(session, caller.user_id, caller.session_id, body, otp)


handler = route.handler
