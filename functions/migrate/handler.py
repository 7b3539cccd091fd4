"""Applies database migrations; run by CloudFormation on every deploy (custom resource)."""

from typing import Any

from tradebot.db.migrate import upgrade_for_deploy
from tradebot.observability import observed

PHYSICAL_ID = "tradebot-database-migrations"


def migrate(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    # A stack deletion must not touch the data; create and update bring the schema to head.
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": PHYSICAL_ID, "Data": {}}  # never block a stack deletion
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"Revision": upgrade_for_deploy() or ""}}


handler = observed(migrate)
