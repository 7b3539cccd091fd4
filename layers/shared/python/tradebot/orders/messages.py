"""The order queue's message: which trade, and whether to place or cancel it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class OrderMessage(BaseModel):
    """Body of one SQS message; the trade row holds everything else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trade_id: str
    action: Literal["place", "cancel", "sync"] = "place"
