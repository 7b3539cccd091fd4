"""EventBridge-scheduled price updater."""

from typing import Any

from tradebot.observability import logger, observed


def price_updater(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    logger.info("price update scheduled", extra={"time": event.get("time")})
    return {"updated": 0}


handler = observed(price_updater)
