"""Pre-trade risk: limits checked before any order reaches the ledger's broker step.

The check is a pure function of the order, the open positions, the account and the clock, so
tests drive it directly; the kill switch is the one piece of state (engaged until reset). The
drawdown watch reads the broker's equity on quotes and before orders (see :meth:`RiskManager.watch`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from realtime.brokers.base import AccountState, Quote
from realtime.errors import KillSwitchError, RiskRejectedError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RiskLimits:
    """Limits in lots and account currency; ``trading_hours_utc`` is [start, end) hours, and a
    window with start > end wraps midnight: (22, 6) trades from 22:00 to 06:00 UTC."""

    max_order_lots: float = 10.0
    max_position_lots: float = 20.0
    max_total_exposure_lots: float = 50.0
    max_daily_loss: float = 5_000.0
    max_drawdown: float = 0.2
    trading_hours_utc: tuple[int, int] = (0, 24)
    max_quote_age_s: float = 0.0
    # How far a quote's time may lie ahead of the clock before it counts as stale (clock skew).
    future_tolerance_s: float = 5.0
    # Per user (its positions and working orders), so that one trader cannot take the whole
    # desk's room: below the desk-wide limits, several traders are needed to fill those.
    max_user_position_lots: float = 10.0
    max_user_exposure_lots: float = 25.0


def in_trading_hours(hour: int, window: tuple[int, int]) -> bool:
    """Whether UTC ``hour`` lies in the [start, end) ``window``, which may wrap midnight."""
    start, end = window
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


class RiskManager:
    """Checks orders against :class:`RiskLimits` and owns the drawdown kill switch.

    ``equity`` reads the broker's account (or just its equity; None when it cannot be read) for
    the drawdown watch; an account read also refreshes :attr:`unrealised_pnl`, which the
    daily-loss check adds to the day's realised P&L without a broker round trip per order;
    ``watch_every_s`` bounds how often it is read (0: every quote and every order), since a read
    is a terminal round trip on MT5 and a pass over every open position on paper.
    When the pre-trade check itself finds the drawdown breached, the KillSwitchError it raises
    says so (``engaged_now``): the caller runs the switch's actions once the order is answered.
    """

    def __init__(
        self,
        limits: RiskLimits,
        equity: Callable[[], AccountState | float | None] | None = None,
        watch_every_s: float = 0.0,
    ):
        self.limits = limits
        self.equity, self.watch_every_s = equity, watch_every_s
        self.peak_equity: float | None = None
        self.killed_reason: str | None = None
        self.unrealised_pnl = 0.0  # equity - balance at the last account read
        self._lock = threading.Lock()
        self._last_read = -math.inf
        self._skipped = False  # a quote was not looked at: the next order reads regardless

    def observe_equity(self, equity: float) -> bool:
        """Track the equity peak; engage the kill switch on a drawdown breach.

        True only for the one call that engaged it, however many threads observe at once, so
        the caller that gets True runs the kill-switch actions exactly once.
        """
        with self._lock:
            self.peak_equity = equity if self.peak_equity is None else max(self.peak_equity, equity)
            dd = 1.0 - equity / self.peak_equity if self.peak_equity > 0 else 0.0
            if self.killed_reason is not None or dd < self.limits.max_drawdown:
                return False
            self.killed_reason = (
                f"drawdown {dd:.1%} from peak equity {self.peak_equity:,.2f} reached the "
                f"{self.limits.max_drawdown:.1%} limit"
            )
        log.error("kill switch engaged: %s", self.killed_reason)
        return True

    def watch(self, on_quote: bool) -> bool:
        """Read the equity if due and observe it; True if this engaged the kill switch.

        A quote arriving within ``watch_every_s`` of the last read is skipped, but then the next
        order reads anyway, so a skipped price move is never traded through.
        """
        if self.equity is None or self.killed_reason is not None:
            return False
        now = time.monotonic()
        with self._lock:
            due = now - self._last_read >= self.watch_every_s or (self._skipped and not on_quote)
            if not due:
                self._skipped = self._skipped or on_quote
                return False
            self._last_read, self._skipped = now, False
        equity = self.read_equity()
        return equity is not None and self.observe_equity(equity)

    def read_equity(self) -> float | None:
        """Read the broker's equity now (None when unreadable), keeping its unrealised P&L."""
        if self.equity is None:
            return None
        read = self.equity()
        if isinstance(read, AccountState):
            # Swap the ledger already books as realised is in equity too: count it once.
            self.unrealised_pnl = read.equity - read.balance - read.swap
            return read.equity
        return read

    def engage(self, reason: str) -> None:
        """Halt trading by hand (or restore a halt persisted before a restart)."""
        with self._lock:
            self.killed_reason = reason

    def reset(self, equity: float | None = None) -> None:
        """Resume trading (admin), restarting the drawdown peak at ``equity`` (or the next read)."""
        with self._lock:
            self.killed_reason, self.peak_equity = None, equity

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
        user_exposure: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """Raise KillSwitchError (423) or RiskRejectedError (403) when the order breaks a limit.

        Closing orders only reduce risk, so they pass every check, the kill switch included:
        a desk must always be able to flatten.
        """
        lim = self.limits
        if closing:
            return
        engaged_now = self.killed_reason is None and self.watch(on_quote=False)
        if self.killed_reason:
            raise KillSwitchError(f"trading halted by the kill switch: {self.killed_reason}", engaged_now)
        if not in_trading_hours(now.hour, lim.trading_hours_utc):
            start, end = lim.trading_hours_utc
            raise RiskRejectedError(f"outside trading hours {start:02d}:00-{end:02d}:00 UTC")
        if quote is None:
            raise RiskRejectedError(f"no price for {symbol} yet")
        age = (now - quote.ts).total_seconds()
        # A quote dated in the future is as untrustworthy as an old one: its negative age would
        # otherwise pass the check forever.
        if lim.max_quote_age_s and (age > lim.max_quote_age_s or -age > lim.future_tolerance_s):
            raise RiskRejectedError(
                f"stale price for {symbol}: last quote {age:.0f}s old (limit {lim.max_quote_age_s:.0f}s)"
            )
        if volume > lim.max_order_lots:
            raise RiskRejectedError(f"order of {volume} lots exceeds max order size {lim.max_order_lots}")
        signed = volume if side == "buy" else -volume
        net, gross = exposure  # open lots: net of ``symbol`` (signed), gross over all symbols
        user_net, user_gross = user_exposure  # the same, of the ordering user only
        for lots, cap, why in (
            (abs(net + signed), lim.max_position_lots,
             f"{symbol} position would be {net + signed:+.2f} lots, over the "
             f"{lim.max_position_lots} per-symbol limit"),
            (gross + volume, lim.max_total_exposure_lots,
             f"total exposure would be {gross + volume:.2f} lots, over the "
             f"{lim.max_total_exposure_lots} limit"),
            (abs(user_net + signed), lim.max_user_position_lots,
             f"your {symbol} position would be {user_net + signed:+.2f} lots (working orders "
             f"included), over the {lim.max_user_position_lots} per-user limit"),
            (user_gross + volume, lim.max_user_exposure_lots,
             f"your exposure would be {user_gross + volume:.2f} lots (working orders included), "
             f"over the {lim.max_user_exposure_lots} per-user limit"),
        ):
            if lots > cap:
                raise RiskRejectedError(why)
        # Open losses count too: realised P&L alone lets a desk keep adding to a losing book.
        day = daily_pnl + self.unrealised_pnl
        if day <= -lim.max_daily_loss:
            raise RiskRejectedError(
                f"daily loss {-day:,.2f} (realised {-daily_pnl:,.2f}, unrealised "
                f"{-self.unrealised_pnl:,.2f}) reached the {lim.max_daily_loss:,.2f} limit"
            )
