"""Market data: symbols and their filters, cached prices, the simulated market, the updater."""
