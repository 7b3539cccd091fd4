"""The trading journal."""
