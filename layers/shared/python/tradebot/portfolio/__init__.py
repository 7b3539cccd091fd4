"""Positions, profit and the dashboard."""
