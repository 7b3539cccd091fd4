"""DELETE /api/account: delete my account and erase my data (needs the password)."""

from fastapi import Response
from tradebot.accounts import erasure
from tradebot.auth.schemas import AccountDeletion
from tradebot.http.cookies import clear_refresh_cookie
from tradebot.http.deps import Otp, UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("account_delete")


@route
def delete_account(body: AccountDeletion, user_id: UserId, response: Response, otp: Otp) -> None:
    erasure.close_account(user_id, body.password.get_secret_value(), otp)
    clear_refresh_cookie(response)


handler = route.handler
