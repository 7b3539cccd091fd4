"""API models of a user's risk limits; notionals are in the quote asset, decimal strings out."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tradebot.orders.schemas import Amount, DecimalOut

MAX_COUNT = 10_000
OrderCount = Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)]


class LimitsPublic(BaseModel):
    """The limits in force for the user (their own, or the defaults where they set none)."""

    max_open_orders: int
    max_orders_per_minute: int
    max_order_notional: DecimalOut
    max_daily_notional: DecimalOut
    trading_paused: bool


class LimitsUpdate(BaseModel):
    """Any subset of the limits. Lowering or pausing applies at once; raising a limit or
    unpausing needs `password` (the account's)."""

    model_config = ConfigDict(extra="forbid")

    max_open_orders: OrderCount | None = Field(default=None, examples=[20])
    max_orders_per_minute: OrderCount | None = Field(default=None, examples=[10])
    max_order_notional: Amount | None = Field(default=None, examples=["1000"])
    max_daily_notional: Amount | None = Field(default=None, examples=["5000"])
    trading_paused: Annotated[bool, Field(strict=True)] | None = None
    password: SecretStr | None = Field(default=None, max_length=128)

    @field_validator(
        "max_open_orders",
        "max_orders_per_minute",
        "max_order_notional",
        "max_daily_notional",
        "trading_paused",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Leaving a field out keeps the limit; null would read as "no limit", which there is not.
        if value is None:
            raise ValueError("must not be null; leave the field out to keep the limit")
        return value

    def changes(self) -> dict[str, Any]:
        """The limits the request sets, by name (never the password)."""
        # Attributes, not model_dump: that would turn the notionals into strings.
        return {name: getattr(self, name) for name in self.model_fields_set - {"password"}}
