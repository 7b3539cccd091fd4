"""Relational storage: engine, session scope, models and migrations."""
