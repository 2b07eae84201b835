"""Serving the champion model: rolling bars, model loading, the signal engine and alias reloads."""
