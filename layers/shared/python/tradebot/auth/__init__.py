"""Accounts: password hashing, access tokens, registration and login."""
