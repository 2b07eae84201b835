"""The realtime tier: a FastAPI service serving champion-model signals on live or replayed data."""
