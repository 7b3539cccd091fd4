"""GET /api/dashboard: balances, open orders, volume, PnL, win rate and positions."""

from tradebot.accounts.sealing import keys_checked
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.portfolio.dashboard import Dashboard, build_dashboard

route = RouteFunction("dashboard")


@route
def dashboard(user_id: UserId) -> Dashboard:
    with keys_checked(), unit_of_work() as session:
        return build_dashboard(session, user_id)


handler = route.handler
