"""Overnight swap for the paper broker: the backtest's charge at each rollover, settled per
position as quotes arrive (see :func:`ml.costs.rollover.rollovers_between`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from marketdata.instruments import get_instrument
from ml.costs.currency import LiveRates
from ml.costs.formulas import swap_amount
from ml.costs.rollover import rollovers_between, trading_day
from realtime.brokers.base import BrokerPosition, Quote, SwapReport


class SwapAccrual:
    """Which rollovers each open position has paid for.

    Per position, the quote time up to which its swap is settled only moves forward, so a
    repeated or out-of-order quote never charges a rollover twice. Symbols with restored
    positions are settled on their next quote, whatever its time. Not thread-safe: the paper
    broker calls it under its own lock.
    """

    def __init__(self, enabled: bool = True, rates: LiveRates | None = None):
        self.enabled = enabled
        self._rates = rates or LiveRates()
        self._through: dict[str, dt.datetime] = {}
        self._scan: set[str] = set()

    def opened(self, position_id: str, since: dt.datetime | None) -> None:
        """A position opened (or restored) settled up to ``since`` (None: from its next quote)."""
        if since is not None:
            self._through[position_id] = _utc(since)

    def closed(self, position_id: str) -> None:
        """A position closed: nothing more to settle."""
        self._through.pop(position_id, None)

    def restored(self, symbol: str) -> None:
        """Positions of ``symbol`` came back from the ledger: settle them on its next quote."""
        self._scan.add(symbol)

    def charge(
        self, prev: Quote | None, q: Quote, positions: Mapping[str, BrokerPosition]
    ) -> list[SwapReport]:
        """The swap of every rollover between each ``q.symbol`` position's settled time and
        ``q.ts``: instrument swap points per lot and night, times pip size and contract size,
        converted to the account currency at the latest rate."""
        # Quotes are hot: with no rollover between the symbol's last quote and this one, every
        # position is settled already (each was settled to, or opened at, a quote since then).
        if not self.enabled or (
            prev is not None and q.symbol not in self._scan and trading_day(prev.ts) == trading_day(q.ts)
        ):
            return []
        self._scan.discard(q.symbol)
        now = _utc(q.ts)
        out = []
        for pid, pos in positions.items():
            since = self._through.get(pid)
            if pos.symbol != q.symbol or (since is not None and now <= since):
                continue
            inst = get_instrument(pos.symbol)
            fx = self._rates.rate(inst)
            if fx is None and since is not None:  # no rate yet (a restart): settle on a later quote
                continue
            self._through[pid] = now
            if since is None or fx is None:
                continue
            points = inst.swap_long if pos.side == "buy" else inst.swap_short
            for instant, weight in rollovers_between(int(since.timestamp()), int(now.timestamp())):
                amount = swap_amount(pos.volume * inst.contract_size, points * inst.pip_size, weight, fx)
                rollover = dt.datetime.fromtimestamp(instant, dt.UTC)
                out.append(SwapReport(pid, pos.symbol, pos.side, pos.volume, rollover, weight, amount))
        return out


def _utc(ts: dt.datetime) -> dt.datetime:
    """``ts`` as an aware UTC datetime (a naive quote time is taken as UTC)."""
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)

