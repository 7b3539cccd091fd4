"""Orders: validation, queueing, execution and their state machine."""
