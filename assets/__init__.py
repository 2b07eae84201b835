"""Dagster software-defined assets, one module per domain; thin wrappers over marketdata and ml."""
