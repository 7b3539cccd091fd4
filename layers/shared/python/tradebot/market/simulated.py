"""A simulated market for offline use: a seeded random walk per symbol from a reference price."""

from __future__ import annotations

import hashlib
import random
from decimal import ROUND_HALF_EVEN, Decimal

from tradebot.exchange.base import SymbolFilters

VOLATILITY = 0.002  # standard deviation of one step's relative move


class SimulatedMarket:
    """Deterministic for a given seed and sequence of steps, so tests can rely on the prices."""

    def __init__(self, seed: int, reference: dict[str, Decimal]) -> None:
        self.seed = seed
        self.reference = reference

    def step(
        self,
        previous: dict[str, Decimal],
        tick: int,
        filters: dict[str, SymbolFilters],
    ) -> dict[str, Decimal]:
        """The next price of every reference symbol, on the symbol's tick size."""
        prices: dict[str, Decimal] = {}
        for symbol, start in self.reference.items():
            last = previous.get(symbol, start)
            digest = hashlib.sha256(f"{self.seed}:{symbol}:{tick}".encode()).digest()
            # A seeded walk for the offline market, not a secret.
            rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311  # nosec B311
            move = Decimal(repr(rng.gauss(0.0, VOLATILITY)))
            # Pull gently back towards the reference so a long-running dev stack stays sane.
            drift = (start - last) / start * Decimal("0.01")
            price = last * (1 + move + drift)
            tick_size = filters[symbol].tick_size if symbol in filters else Decimal("0.01")
            price = (price / tick_size).quantize(Decimal(1), ROUND_HALF_EVEN) * tick_size
            prices[symbol] = max(price, tick_size)
        return prices
