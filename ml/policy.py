"""The trading policy: a model's signal -> the position to hold, its size and its stops.

One object serves the evaluation backtest (the promotion gate), the optimiser and the realtime
auto-trader, so what the gate tested is what trades:

* signal +1 means be long, -1 short (flat instead when ``long_only``), **0 means be flat**;
* after a stop-loss or take-profit exit, stay flat until the signal changes direction;
* a position is ``lots`` lots, or ``fraction`` of equity when ``lots`` is None (backtests only:
  the live auto-trader needs lots);
* ``stop_loss_pips`` / ``take_profit_pips`` from the entry fill.

The backtest applies it through :meth:`TradingPolicy.targets` and
:meth:`TradingPolicy.backtest_kwargs`; the auto-trader asks :meth:`TradingPolicy.target` on each
signal and sizes orders with :meth:`TradingPolicy.order_lots` and
:meth:`TradingPolicy.stops`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from marketdata.instruments import Instrument
from ml.errors import BacktestError


@dataclass(frozen=True)
class TradingPolicy:
    """Signal -> target position, sizing and stops (see the module docstring)."""

    long_only: bool = False
    lots: float | None = None
    fraction: float = 1.0
    stop_loss_pips: float | None = None
    take_profit_pips: float | None = None

    def __post_init__(self) -> None:
        for name in ("lots", "stop_loss_pips", "take_profit_pips"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise BacktestError(f"TradingPolicy.{name} must be > 0, got {value!r}")
        if not (self.fraction > 0 and math.isfinite(self.fraction)):
            raise BacktestError(f"TradingPolicy.fraction must be > 0, got {self.fraction!r}")

    def target(self, signal: int, blocked: int = 0) -> tuple[int, int]:
        """(direction to hold, still blocked) after ``signal`` (-1, 0, +1); ``blocked`` is the
        direction a stop or take-profit last closed (0: none), held flat until the signal turns
        away from it, which lifts the block."""
        want = int(np.sign(signal))
        if self.long_only and want < 0:
            want = 0
        if blocked != 0 and want == blocked:
            return 0, blocked
        return want, 0

    def targets(self, signals: np.ndarray) -> np.ndarray:
        """Per bar, the direction to hold from its close (the engine applies the stop block)."""
        out = np.sign(np.asarray(signals, dtype=np.int64))
        return np.where(out < 0, 0, out) if self.long_only else out

    def order_lots(self) -> float:
        """Lots of each live order."""
        if self.lots is None:
            raise BacktestError("a live policy needs lots (fraction sizing is for backtests)")
        return self.lots

    def stops(self, instrument: Instrument, side: str, price: float) -> tuple[float | None, float | None]:
        """(sl, tp) price levels of an entry on ``side`` at ``price``."""
        d = 1 if side == "buy" else -1
        sl = price - d * self.stop_loss_pips * instrument.pip_size if self.stop_loss_pips else None
        tp = price + d * self.take_profit_pips * instrument.pip_size if self.take_profit_pips else None
        return sl, tp

    def backtest_kwargs(self, instrument: Instrument) -> dict[str, Any]:
        """The sizing and stop settings of :func:`ml.backtest.run_backtest` for this policy."""
        sizing: dict[str, Any] = (
            {"units": self.lots * instrument.contract_size} if self.lots is not None
            else {"fraction": self.fraction})
        return {**sizing, "stop_loss_pips": self.stop_loss_pips,
                "take_profit_pips": self.take_profit_pips}
