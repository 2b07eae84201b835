"""The Desk: the one owner of the live trading loop.

Quotes come in through :meth:`Desk.on_quote` (the broker's prices, the feed lag, the drawdown
watch); orders go out through :meth:`Desk.place` and positions close through
:meth:`Desk.close_position`, whoever asks (a trader's route, the auto-trader, the kill switch);
the kill switch's actions (persist, cancel working orders, maybe flatten) run here, whether the
quote watch, an order's pre-trade check, an account read or an admin engaged it. The order
service below books and sends; it never calls back up.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pandas as pd

from realtime.brokers.base import AccountState, Broker, ExecReport, LocalAccount, Quote, SwapReport
from realtime.errors import (
    BrokerError,
    CloseVolumeError,
    IdempotencyConflictError,
    KillSwitchError,
    NotFoundError,
)
from realtime.feeds.status import FeedStatus
from realtime.ledger.accounts import Principal
from realtime.ledger.halts import save_halt
from realtime.ledger.rows import OrderRow, closing_side
from realtime.ledger.store import Ledger
from realtime.ledger.trades import SYSTEM_USER_ID
from realtime.schemas import OrderIn
from realtime.telemetry.metrics import Metrics
from realtime.trading.orders import OrderService
from realtime.trading.risk import RiskManager

log = logging.getLogger(__name__)
KILL_SWITCH = Principal(SYSTEM_USER_ID, "kill-switch", "admin", "system")


def equity_reader(broker: Broker) -> Callable[[], AccountState | None]:
    """The kill-switch watch's view of ``broker``: its account (equity for the drawdown watch,
    equity - balance for the daily-loss check), or None while it cannot say (the order path
    reports an unreachable broker on its own; the watch must not fail orders)."""

    def read() -> AccountState | None:
        try:
            return broker.account()
        except BrokerError as exc:
            log.warning("kill-switch watch could not read the %s account: %s", broker.name, exc)
            return None

    return read


class Desk:
    """Takes quotes, runs the kill switch, places orders and closes positions for everyone.

    ``symbols``: the served symbols (quotes for others are dropped and counted);
    ``flatten_on_kill``: whether the drawdown switch closes every position as well.
    ``kill_actions`` is the thread running the actions when an order's own check engaged the
    switch (they place closing orders themselves, so they wait until that order is answered).
    """

    def __init__(
        self,
        ledger: Ledger,
        broker: Broker,
        risk: RiskManager,
        orders: OrderService,
        symbols: list[str],
        feed: FeedStatus,
        metrics: Metrics,
        flatten_on_kill: bool = False,
    ):
        self.ledger, self.broker, self.risk, self.orders = ledger, broker, risk, orders
        self.symbols, self.feed, self.metrics = set(symbols), feed, metrics
        self.flatten_on_kill = flatten_on_kill
        self.kill_actions: threading.Thread | None = None

    # quotes -------------------------------------------------------------------------------
    def on_quote(self, q: Quote) -> None:
        """A new quote from the feed: the broker's price (when the feed prices it), the feed lag,
        the kill-switch watch.

        Quotes for symbols this service does not serve are dropped and counted: a feed (or a
        NATS publisher) sending junk symbols must not create paper quotes or metric series.
        """
        if q.symbol not in self.symbols:
            self.count_dropped(q.symbol, "unknown_symbol")
            return
        caps = self.broker.capabilities
        if caps.priced_by_feed:
            # The deals this quote made (limit fills, sl/tp closes, swaps) come back here to be
            # booked: the broker holds no reference up to the desk.
            deals = cast(LocalAccount, self.broker).update_quote(q)
            for deal in deals if caps.reports_own_deals else ():
                self.on_broker_deal(deal)
        self.feed.last_quote[q.symbol] = q.ts  # /metrics derives the feed lag from it when rendered
        if self.risk.watch(on_quote=True):
            self._halt_guarded(persist=True)

    def quote_from_bar(self, symbol: str, bar: dict[str, Any]) -> None:
        """Price a broker the feed prices from a bar's close (its quote time is the bar's end)."""
        if self.broker.capabilities.priced_by_feed:
            ts = pd.Timestamp(bar["ts"]).to_pydatetime() + dt.timedelta(minutes=1)
            self.on_quote(Quote(symbol, float(bar["bid_close"]), float(bar["ask_close"]), ts))

    def count_dropped(self, symbol: str, reason: str) -> None:
        """Count one dropped feed event; an unserved symbol under the one bounded label "other"."""
        self.feed.dropped += 1
        self.metrics.feed_dropped.labels(symbol if symbol in self.symbols else "other", reason).inc()

    def on_broker_deal(self, report: ExecReport | SwapReport) -> None:
        """A deal the broker made on its own (a resting limit filled, an sl or tp hit, a swap
        charged): booked and announced like any fill."""
        self.orders.apply_fill(report)

    # orders -------------------------------------------------------------------------------
    def place(self, who: Principal, o: OrderIn, position_id: int | None = None) -> tuple[OrderRow, bool]:
        """Place ``o`` through the order service; (order, created) as it answers."""
        try:
            return self.orders.place(who, o, position_id)
        except KillSwitchError as exc:
            self._engaged_by_order(exc)
            raise

    async def place_async(self, who: Principal, o: OrderIn) -> tuple[OrderRow, bool]:
        """``place`` off the event loop when the order service has worker threads."""
        try:
            return await self.orders.place_async(who, o)
        except KillSwitchError as exc:
            self._engaged_by_order(exc)
            raise

    def close_position(
        self,
        who: Principal,
        position_id: int,
        volume: float | None = None,
        client_order_id: str | None = None,
    ) -> OrderRow:
        """Close all (or ``volume`` lots) of a position ``who`` may close with an opposite market
        order; NotFoundError when there is no such open position of theirs. The remaining volume
        is checked when the closing order is written, in its transaction."""
        if client_order_id is not None:
            # A retried close answers the original close, even once the position is closed;
            # the same id on another position is a different request under a used key.
            first = self.ledger.order_by_client_id(who.user_id, client_order_id)
            if first is not None:
                if first.position_id != position_id:
                    raise IdempotencyConflictError(
                        f"client_order_id {client_order_id!r} already names order {first.id}, "
                        f"which closes position {first.position_id}, not {position_id}"
                    )
                if volume is not None and abs(first.volume - volume) > 1e-9:
                    raise IdempotencyConflictError(
                        f"client_order_id {client_order_id!r} already names a close of {first.volume} "
                        f"lots, not {volume}"
                    )
                return first
        pos = self.ledger.get_position(position_id)
        if pos is None or pos.status != "open" or not self.orders.may_close(who, pos):
            raise NotFoundError(f"no open position {position_id}")
        o = OrderIn(
            symbol=pos.symbol,
            side=closing_side(pos.side),
            volume=volume or pos.volume,
            client_order_id=client_order_id or f"close-{position_id}-{time.time_ns()}",
        )
        order, _ = self.place(who, o, position_id=position_id)
        return order

    # the kill switch ----------------------------------------------------------------------
    def account(self) -> AccountState:
        """The broker's account; the read also feeds the drawdown watch (it is free here)."""
        acct = self.broker.account()
        if self.risk.observe_equity(acct.equity):
            save_halt(self.ledger, self.risk.killed_reason, "risk")
            self.halt(self.flatten_on_kill)
        return acct

    def kill(self, reason: str, flatten: bool, actor: str) -> list[str]:
        """Engage the kill switch by hand (persisted), cancel working orders, maybe flatten."""
        self.risk.engage(reason)  # in memory first: a ledger failure must not leave trading on
        save_halt(self.ledger, reason, actor)
        return self.halt(flatten)

    def resume(self, actor: str) -> None:
        """Release the kill switch (persisted); the drawdown peak restarts at today's equity."""
        save_halt(self.ledger, None, actor)
        self.risk.reset(self.risk.read_equity())

    def halt(self, flatten: bool) -> list[str]:
        """Kill switch actions: cancel every working order and optionally close every position."""
        done = self.orders.cancel_working("kill switch")
        if flatten:
            for pos in self.ledger.positions():
                cid = f"flatten-{pos.id}-{int(time.time())}"
                try:
                    self.close_position(KILL_SWITCH, pos.id, client_order_id=cid)
                    done.append(f"closed position {pos.id}")
                # A close already in flight (CloseVolumeError) or one that just closed it
                # (NotFoundError) must not stop the other positions from being flattened.
                except (BrokerError, CloseVolumeError, NotFoundError) as exc:
                    done.append(f"close of position {pos.id} failed: {exc}")
        self.ledger.audit("risk", "kill_switch", {"reason": self.risk.killed_reason, "actions": done})
        return done

    def _engaged_by_order(self, exc: KillSwitchError) -> None:
        # The order's own pre-trade check engaged the switch; the order is answered (423) and its
        # transaction over. The actions write and place closing orders themselves, and may take
        # a while against a remote broker, so they run in a thread rather than delay the answer.
        if not exc.engaged_now:
            return
        save_halt(self.ledger, self.risk.killed_reason, "risk")
        self.kill_actions = threading.Thread(target=self._halt_guarded, name="kill-switch", daemon=True)
        self.kill_actions.start()

    def _halt_guarded(self, persist: bool = False) -> None:
        # Called from the feed and from a thread: the switch holds in memory whatever happens,
        # and a failure is logged rather than stopping the feed or vanishing in a thread.
        try:
            if persist:
                save_halt(self.ledger, self.risk.killed_reason, "risk")
            self.halt(self.flatten_on_kill)
        except Exception:
            log.exception("kill-switch actions failed")
