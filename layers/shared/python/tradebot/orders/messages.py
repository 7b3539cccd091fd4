"""The order queue's message: which trade (or user), and what to do with it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class OrderMessage(BaseModel):
    """Body of one SQS message; the trade row holds everything else.

    `sync_user` names a user instead of a trade: every open live order of theirs is brought up to
    date from one open-orders listing. The other actions name one trade.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trade_id: str = ""
    action: Literal["place", "cancel", "sync", "sync_user"] = "place"
    user_id: str | None = None

    @model_validator(mode="after")
    def _names_its_subject(self) -> OrderMessage:
        if self.action == "sync_user":
            if not self.user_id or self.trade_id:
                raise ValueError("a sync_user message names a user_id and no trade_id")
        elif not self.trade_id:
            raise ValueError(f"a {self.action} message names a trade_id")
        return self

    def body(self) -> str:
        """The JSON sent: the subject it names and the action, nothing unset."""
        return self.model_dump_json(exclude={"trade_id"} if self.user_id else {"user_id"})

    @property
    def subject(self) -> str:
        """The trade id, or for `sync_user` the user id."""
        return self.trade_id or self.user_id or ""
