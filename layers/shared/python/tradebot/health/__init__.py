"""Operational status of the dependencies."""
