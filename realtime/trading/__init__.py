"""The live trading loop: orders, order checks, risk, fills, reconciliation, sync, restart, auto-trading."""
