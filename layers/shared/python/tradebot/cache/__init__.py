"""Redis: the client, a read-through cache and per-caller rate limiting."""
