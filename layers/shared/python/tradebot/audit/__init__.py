"""The audit trail: each user's security events, written with the actions they record."""
