"""Column contracts shared by every store, source and consumer of ticks and bars."""

# Ticks: one row per quote; ts_ms is UTC epoch milliseconds.
TICK_COLUMNS = ["ts_ms", "bid", "ask", "bid_volume", "ask_volume"]

# 1-minute (and higher) bars; ts is the bar's open time, tz-aware UTC.
BAR_COLUMNS = [
    "ts",
    "bid_open", "bid_high", "bid_low", "bid_close",
    "ask_open", "ask_high", "ask_low", "ask_close",
    "spread_mean", "spread_max",
    "tick_count", "bid_volume", "ask_volume",
]
