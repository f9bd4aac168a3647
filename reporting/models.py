"""Reporting models (KPI targets, weekly review snapshots, improvement actions)."""
