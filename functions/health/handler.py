"""GET /health: database, cache and exchange status; 503 when the database is down."""

from fastapi import Response
from tradebot.health.service import HealthReport, check_health
from tradebot.http.function import RouteFunction

route = RouteFunction(
    "health", responses={503: {"model": HealthReport, "description": "The database is down"}}
)


@route
def health(response: Response) -> HealthReport:
    report = check_health()
    if report.database == "down":
        response.status_code = 503
    return report


handler = route.handler
