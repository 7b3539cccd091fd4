"""Exchanges: one interface, a Binance adapter (python-binance) and a paper exchange."""
