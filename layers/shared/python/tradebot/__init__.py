"""Shared layer of the trading bot: settings, storage, cache, crypto, exchange and the domain."""
