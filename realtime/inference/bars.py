"""RollingBars: ticks -> closed 1-minute bars, one tick at a time (BAR_COLUMNS shape).

A bar closes when the first tick of a later minute arrives, so a bar is emitted only once
complete (no look-ahead); the batch equivalent is ``marketdata.bars.ticks_to_bars``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_MIN_MS = 60_000


class LateTickError(ValueError):
    """A tick older than the symbol's open bar: that minute is already closed and emitted."""

    def __init__(self, symbol: str, ts_ms: int, open_bucket_ms: int):
        super().__init__(f"{symbol} tick at {ts_ms} is older than the open bar {open_bucket_ms}")
        self.symbol, self.ts_ms, self.open_bucket_ms = symbol, ts_ms, open_bucket_ms


class RollingBars:
    """Per-symbol accumulator of the current minute."""

    def __init__(self) -> None:
        self._open: dict[str, dict[str, Any]] = {}

    def on_tick(
        self,
        symbol: str,
        ts_ms: int,
        bid: float,
        ask: float,
        bid_volume: float = 0.0,
        ask_volume: float = 0.0,
    ) -> dict[str, Any] | None:
        """Add a tick; return the bar it closed, if any.

        A tick from a minute before the open bar raises LateTickError and changes nothing: its
        bar was already emitted, and reopening it would change a signal after the fact. The
        caller (FeedRunner) drops and counts it.
        """
        bucket = ts_ms // _MIN_MS * _MIN_MS
        cur = self._open.get(symbol)
        closed = None
        if cur is not None and bucket < cur["_bucket"]:
            raise LateTickError(symbol, ts_ms, cur["_bucket"])
        if cur is not None and bucket > cur["_bucket"]:
            closed = self._finish(cur)
            cur = None
        spread = ask - bid
        if cur is None:
            self._open[symbol] = {
                "_bucket": bucket,
                "bid_open": bid,
                "bid_high": bid,
                "bid_low": bid,
                "bid_close": bid,
                "ask_open": ask,
                "ask_high": ask,
                "ask_low": ask,
                "ask_close": ask,
                "_spread_sum": spread,
                "spread_max": spread,
                "tick_count": 1,
                "bid_volume": bid_volume,
                "ask_volume": ask_volume,
            }
            return closed
        cur["bid_high"], cur["bid_low"], cur["bid_close"] = (
            max(cur["bid_high"], bid),
            min(cur["bid_low"], bid),
            bid,
        )
        cur["ask_high"], cur["ask_low"], cur["ask_close"] = (
            max(cur["ask_high"], ask),
            min(cur["ask_low"], ask),
            ask,
        )
        cur["_spread_sum"] += spread
        cur["spread_max"] = max(cur["spread_max"], spread)
        cur["tick_count"] += 1
        cur["bid_volume"] += bid_volume
        cur["ask_volume"] += ask_volume
        return closed

    @staticmethod
    def _finish(cur: dict[str, Any]) -> dict[str, Any]:
        bar = {k: v for k, v in cur.items() if not k.startswith("_")}
        bar["ts"] = pd.Timestamp(cur["_bucket"], unit="ms", tz="UTC")
        bar["spread_mean"] = cur["_spread_sum"] / cur["tick_count"]
        return bar
