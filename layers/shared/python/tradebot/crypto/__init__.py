"""Encryption of stored exchange credentials."""
