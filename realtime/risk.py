"""Pre-trade risk: limits checked before any order reaches the ledger's broker step.

The check is a pure function of the order, the open positions, the account and the clock, so
tests drive it directly; the kill switch is the one piece of state (engaged until reset).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from realtime.brokers.base import Quote
from realtime.errors import KillSwitchError, RiskRejectedError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RiskLimits:
    """Limits in lots and account currency; ``trading_hours_utc`` is [start, end) hours."""

    max_order_lots: float = 10.0
    max_position_lots: float = 20.0
    max_total_exposure_lots: float = 50.0
    max_daily_loss: float = 5_000.0
    max_drawdown: float = 0.2
    trading_hours_utc: tuple[int, int] = (0, 24)
    max_quote_age_s: float = 0.0


class RiskManager:
    """Checks orders against :class:`RiskLimits` and owns the drawdown kill switch."""

    def __init__(self, limits: RiskLimits):
        self.limits = limits
        self.peak_equity: float | None = None
        self.killed_reason: str | None = None

    def observe_equity(self, equity: float) -> bool:
        """Track the equity peak; engage the kill switch on a drawdown breach. True if it fired now."""
        self.peak_equity = equity if self.peak_equity is None else max(self.peak_equity, equity)
        dd = 1.0 - equity / self.peak_equity if self.peak_equity > 0 else 0.0
        if self.killed_reason is None and dd >= self.limits.max_drawdown:
            self.killed_reason = (
                f"drawdown {dd:.1%} from peak equity {self.peak_equity:,.2f} reached the "
                f"{self.limits.max_drawdown:.1%} limit"
            )
            log.error("kill switch engaged: %s", self.killed_reason)
            return True
        return False

    def engage(self, reason: str) -> None:
        """Halt trading by hand."""
        self.killed_reason = reason

    def reset(self) -> None:
        """Resume trading (admin), restarting the drawdown peak."""
        self.killed_reason, self.peak_equity = None, None

    def check(
        self,
        symbol: str,
        side: str,
        volume: float,
        exposure: tuple[float, float],
        daily_pnl: float,
        quote: Quote | None,
        now: dt.datetime,
        closing: bool = False,
    ) -> None:
        """Raise KillSwitchError (423) or RiskRejectedError (403) when the order breaks a limit.

        Closing orders only reduce risk, so they pass every check, the kill switch included:
        a desk must always be able to flatten.
        """
        lim = self.limits
        if closing:
            return
        if self.killed_reason:
            raise KillSwitchError(f"trading halted by the kill switch: {self.killed_reason}")
        start, end = lim.trading_hours_utc
        if not start <= now.hour < end:
            raise RiskRejectedError(f"outside trading hours {start:02d}:00-{end:02d}:00 UTC")
        if quote is None:
            raise RiskRejectedError(f"no price for {symbol} yet")
        age = (now - quote.ts).total_seconds()
        if lim.max_quote_age_s and age > lim.max_quote_age_s:
            raise RiskRejectedError(
                f"stale price for {symbol}: last quote {age:.0f}s old (limit {lim.max_quote_age_s:.0f}s)"
            )
        if volume > lim.max_order_lots:
            raise RiskRejectedError(f"order of {volume} lots exceeds max order size {lim.max_order_lots}")
        signed = volume if side == "buy" else -volume
        net, gross = exposure  # open lots: net of ``symbol`` (signed), gross over all symbols
        if abs(net + signed) > lim.max_position_lots:
            raise RiskRejectedError(
                f"{symbol} position would be {net + signed:+.2f} lots, over the "
                f"{lim.max_position_lots} per-symbol limit"
            )
        if gross + volume > lim.max_total_exposure_lots:
            raise RiskRejectedError(
                f"total exposure would be {gross + volume:.2f} lots, over the "
                f"{lim.max_total_exposure_lots} limit"
            )
        if daily_pnl <= -lim.max_daily_loss:
            raise RiskRejectedError(
                f"daily loss {-daily_pnl:,.2f} reached the {lim.max_daily_loss:,.2f} limit"
            )
