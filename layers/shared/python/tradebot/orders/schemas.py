"""API models of trades; every amount is a `Decimal` in and a decimal string out."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from tradebot.exchange.base import OrderType, Side

TradeStatus = Literal[
    "PENDING",
    "RECONCILING",
    "NEW",
    "PARTIALLY_FILLED",
    "FILLED",
    "CANCELED",
    "REJECTED",
    "EXPIRED",
    "FAILED",
]
# The account an order was accepted for, fixed at acceptance.
Venue = Literal["paper", "testnet", "live"]

_PLAIN = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,18})?$")
MAX_AMOUNT = Decimal("1e15")


def parse_amount(value: Any) -> Decimal:
    """A positive Decimal from a decimal string or a JSON number; no NaN, inf or exponents."""
    if isinstance(value, bool):
        raise ValueError("must be a decimal string or number")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        # repr gives the shortest string that round-trips, e.g. 0.001 -> "0.001".
        try:
            text = format(Decimal(repr(value)), "f")
        except InvalidOperation as exc:
            raise ValueError("must be a finite number") from exc
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError("must be a decimal string or number")
    if not _PLAIN.match(text):
        raise ValueError('must be a plain decimal such as "0.001" (at most 18 decimals)')
    amount = Decimal(text)
    if amount <= 0:
        raise ValueError("must be greater than zero")
    if amount >= MAX_AMOUNT:
        raise ValueError("is too large")
    return amount


def plain(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_8601(value: Any) -> Any:
    # pydantic would read a bare number such as "13" as seconds since 1970; times are ISO 8601.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2026-11-25T10:00:00Z")
    return value


def _as_utc(value: datetime) -> datetime:
    # The API's times are UTC: one given without an offset means UTC, not the server's zone.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Amount = Annotated[Decimal, BeforeValidator(parse_amount), PlainSerializer(plain, return_type=str)]
# A time filter: ISO 8601, with or without an offset (then UTC).
Timestamp = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_as_utc)]
DecimalOut = Annotated[Decimal, PlainSerializer(plain, return_type=str)]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}$", examples=["BTCUSDT"])]


class TradeCreate(BaseModel):
    """An order to place. MARKET takes `quantity` or `quote_quantity`; LIMIT needs `price`;
    STOP_LOSS_LIMIT needs `price` and `stop_price`.

    One flat model validates every type, so a wrong combination is answered by the order
    checks with the field and the rule it breaks. Its OpenAPI schema is the union of the three
    shapes below, discriminated by `type`, so a generated client knows what each type takes.
    """

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    side: Side
    type: OrderType
    quantity: Amount | None = Field(default=None, examples=["0.001"])
    quote_quantity: Amount | None = Field(default=None, examples=["25"])
    price: Amount | None = Field(default=None, examples=["95000.00"])
    stop_price: Amount | None = Field(default=None, examples=["90000.00"])

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(_ORDER_SHAPES.core_schema)


# The documented shapes (OpenAPI only; TradeCreate validates). TypedDicts, so an optional
# field is just absent from `required` (no `"default": null` the field's type does not allow).
# An amount is documented as the plain decimal string the API writes, or a positive number.
OrderAmount = Annotated[
    str,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[0-9]{1,20}(\.[0-9]{1,18})?$"},
                {"type": "number", "exclusiveMinimum": 0},
            ]
        }
    ),
]
_SHAPE = ConfigDict(extra="forbid")


class MarketOrder(TypedDict):
    """Buy or sell now at the market: `quantity` of the base asset, or `quote_quantity` of the
    quote asset to spend (exactly one of the two)."""

    __pydantic_config__ = ConfigDict(  # type: ignore[misc]
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["quantity"]}, {"required": ["quote_quantity"]}]},
    )

    symbol: Symbol
    side: Side
    type: Literal["MARKET"]
    quantity: NotRequired[OrderAmount]
    quote_quantity: NotRequired[OrderAmount]


class LimitOrder(TypedDict):
    """Rest on the book at `price` or better."""

    __pydantic_config__ = _SHAPE  # type: ignore[misc]

    symbol: Symbol
    side: Side
    type: Literal["LIMIT"]
    quantity: OrderAmount
    price: OrderAmount


class StopLossLimitOrder(TypedDict):
    """A LIMIT order at `price`, placed once the market reaches `stop_price`."""

    __pydantic_config__ = _SHAPE  # type: ignore[misc]

    symbol: Symbol
    side: Side
    type: Literal["STOP_LOSS_LIMIT"]
    quantity: OrderAmount
    price: OrderAmount
    stop_price: OrderAmount


_ORDER_SHAPES: TypeAdapter[MarketOrder | LimitOrder | StopLossLimitOrder] = TypeAdapter(
    Annotated[MarketOrder | LimitOrder | StopLossLimitOrder, Field(discriminator="type")]
)


class FeePublic(BaseModel):
    """One commission asset and the amount charged in it."""

    asset: str
    amount: DecimalOut


class TradePublic(BaseModel):
    """A trade as its owner sees it."""

    id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: DecimalOut | None
    quote_quantity: DecimalOut | None
    price: DecimalOut | None
    stop_price: DecimalOut | None
    status: TradeStatus
    executed_qty: DecimalOut
    avg_price: DecimalOut | None
    fee: DecimalOut
    fee_asset: str | None
    fees: list[FeePublic]
    venue: Venue
    exchange_order_id: str | None
    client_order_id: str
    reason: str | None
    created_at: datetime
    updated_at: datetime


class CancelAllPublic(BaseModel):
    """What POST /api/trading/cancel-all did."""

    canceled: int = Field(
        description="Orders canceled at once (still queued) or whose cancel was requested "
        "(open on the exchange, or being placed right now); the trades show the outcome"
    )
    reconciling: int = Field(
        description="RECONCILING orders left to the reconciler: whether they exist is not known "
        "yet; once it is, call cancel-all again for any that turned out open"
    )
