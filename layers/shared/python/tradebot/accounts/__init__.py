"""Exchange API keys: stored encrypted, shown masked."""
