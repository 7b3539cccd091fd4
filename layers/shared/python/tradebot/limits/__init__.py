"""Per-user risk limits and the kill switch (OWASP API6: unrestricted access to a business flow)."""
