"""OrderService: validate -> risk -> ledger (pending) -> broker -> fill, in that order, always."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from realtime.brokers.base import (
    Broker,
    BrokerCapabilities,
    BrokerOutcomeUnknownError,
    ExecReport,
    OrderIntent,
    SwapReport,
)
from realtime.errors import (
    BrokerError,
    BrokerUnavailableError,
    ConflictError,
    NotFoundError,
    RiskRejectedError,
)
from realtime.ledger.accounts import Principal
from realtime.ledger.rows import OrderRow, PositionRow
from realtime.ledger.store import Ledger
from realtime.schemas import OrderIn
from realtime.trading.checks import check_order_input, check_retry
from realtime.trading.fills import book_broker_close, book_fill, book_swap
from realtime.trading.risk import RiskManager

log = logging.getLogger(__name__)


def order_workers(dialect: str, caps: BrokerCapabilities) -> int | None:
    """How many threads place orders for a ledger of ``dialect`` and a broker with ``caps``;
    None: inline on the event loop (see :meth:`OrderService.place_async`).

    SQLite has one writer, so more threads only queue; with an in-process broker an order there
    is ~1 ms of short local calls and runs inline (measured ~600 orders/s inline against ~330
    through a worker thread). PostgreSQL overlaps round trips. A network broker holds its thread
    for the broker's answer, so eight let orders to it overlap. An in-process broker never
    waits, and three threads keep PostgreSQL busy: more only contend for the GIL and for the
    server's cores (paper orders through the app on 2 cores, interleaved runs: 490-592/s, p99
    23-28 ms with three; 420-479/s, p99 30-33 ms with eight).
    """
    if dialect == "sqlite":
        return None if caps.in_process else 2
    return 3 if caps.in_process else 8


class OrderService:
    """The single path every order takes (the desk calls it for routes, auto-trading and the kill
    switch): validate, risk, ledger, broker, fill."""

    def __init__(
        self,
        ledger: Ledger,
        broker: Broker,
        risk: RiskManager,
        on_event: Callable[[str, dict[str, object]], None] | None = None,
        workers: int | None = 2,
        atomic: bool = False,
        observe_broker: Callable[[float], None] | None = None,
        observe_status: Callable[[str], None] | None = None,
    ):
        self.ledger, self.broker, self.risk, self.atomic = ledger, broker, risk, atomic
        self.on_event = on_event or (lambda kind, payload: None)
        self._deferred = threading.local()
        # Telemetry sinks given at construction: seconds per broker call, and each order status.
        self.observe_broker: Callable[[float], None] = observe_broker or (lambda seconds: None)
        self.observe_status: Callable[[str], None] = observe_status or (lambda status: None)
        self._executor = (
            None if workers is None else ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orders")
        )

    def place(self, who: Principal, o: OrderIn, position_id: int | None = None) -> tuple[OrderRow, bool]:
        """Place ``o``; return (order, created). A known client_order_id returns the first order.

        With ``atomic`` (a broker whose fills live in this process, restored from the ledger at
        start-up: the paper broker on SQLite) the order, its risk check and its fill are one
        transaction, so a crash keeps all or none of them; events go out after the commit.
        Otherwise the order is committed before the broker sees it, as a remote broker needs.
        """
        if not self.atomic:
            # One pooled connection for the order's statements (see Ledger.one_connection).
            with self.ledger.one_connection():
                return self._place(who, o, position_id)
        failure: Exception | None = None
        events: list[tuple[str, dict[str, object]]] = []
        self._deferred.events = events
        try:
            with self.ledger.unit_of_work():
                try:
                    result = self._place(who, o, position_id)
                except (RiskRejectedError, BrokerError) as exc:  # recorded as rejected/failed
                    failure = exc
        finally:
            self._deferred.events = None
        for kind, payload in events:
            self.on_event(kind, payload)
        if failure is not None:
            raise failure
        return result

    def _emit(self, kind: str, payload: dict[str, object]) -> None:
        events = getattr(self._deferred, "events", None)
        if events is None:
            self.on_event(kind, payload)
        else:
            events.append((kind, payload))

    def _place(self, who: Principal, o: OrderIn, position_id: int | None) -> tuple[OrderRow, bool]:
        quote = self.broker.quote(o.symbol)
        check_order_input(o, None if quote is None else (quote.ask if o.side == "buy" else quote.bid))
        close_pos = None
        if position_id is not None:
            pos = self.ledger.get_position(position_id)
            if pos is None or pos.status != "open" or not self.may_close(who, pos):
                raise NotFoundError(f"no open position {position_id}")
            close_pos = pos.broker_position_id
        fields = dict(symbol=o.symbol, side=o.side, type=o.type, volume=o.volume, price=o.price,
                      sl=o.sl, tp=o.tp)
        now = dt.datetime.now(dt.UTC)
        closing = position_id is not None
        if closing:
            order, created = self.ledger.create_order(
                who.user_id, o.client_order_id, position_id=position_id, **fields)
            totals = None  # a close is checked on the symbol's totals alone, read below
        else:
            # With what its check reads: on PostgreSQL, in the INSERT's own round trip.
            order, created, totals = self.ledger.create_opening_order(
                who.user_id, o.client_order_id, now.date(), **fields)
        if not created:  # a retry, or lost a concurrent race on the same client id: the winner sends it
            check_retry(order, o)
            return order, False
        # Recorded first, so a refusal (risk, or a broker error) leaves a rejected/failed order
        # in the ledger rather than nothing.
        try:
            if quote is None and not self.broker.ping():
                raise BrokerUnavailableError(
                    f"the {self.broker.name} broker is unreachable (no quote or account)"
                )
            mine = (0.0, 0.0)
            if closing:
                net, gross, day_pnl = self.ledger.risk_totals(o.symbol, now.date(), order.id)
            else:
                assert totals is not None  # a new opening order comes with them
                (net, gross, day_pnl), mine = totals
            self.risk.check(
                o.symbol,
                o.side,
                o.volume,
                (net, gross),
                day_pnl,
                quote,
                now,
                closing=closing,
                user_exposure=mine,
            )
        except (RiskRejectedError, BrokerError) as exc:
            status = "failed" if isinstance(exc, BrokerUnavailableError) else "rejected"
            self.ledger.set_order_status(order.id, status, str(exc))
            self.observe_status(status)
            raise
        intent = OrderIntent(order.id, o.symbol, o.side, o.type, o.volume, o.price, o.sl, o.tp, close_pos)
        return self._send(order, intent), True

    def may_close(self, who: Principal, pos: PositionRow) -> bool:
        """Whether ``who`` may see and close ``pos``: the user whose order opened it, or an admin
        (the kill switch's system principal is one). Others are told it does not exist."""
        if who.allows("admin"):
            return True
        opener = self.ledger.get_order(pos.order_id) if pos.order_id is not None else None
        return opener is not None and opener.user_id == who.user_id

    async def place_async(self, who: Principal, o: OrderIn) -> tuple[OrderRow, bool]:
        """``place`` through the service's own worker threads, or on the loop (``workers=None``).

        Worker threads keep the event loop free while a network broker or PostgreSQL answers,
        without the shared threadpool's contention. With SQLite and the in-process paper broker
        an order is ~1 ms of short local calls, and the hand-off to a thread (plus the GIL
        hand-back after every sqlite call) costs more than it saves, so it runs inline.
        """
        if self._executor is None:
            return self.place(who, o)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.place, who, o)

    def _send(self, order: OrderRow, intent: OrderIntent) -> OrderRow:
        if not self.broker.capabilities.in_process:
            self.ledger.release_connection()  # not held across a network broker's answer
        t0 = time.perf_counter()
        try:
            report = self.broker.submit(intent)
        except BrokerOutcomeUnknownError as exc:
            # It may have been executed: "unknown" stays open for reconciliation, never "failed".
            self._settle(order, "unknown", str(exc))
            raise
        except BrokerError as exc:
            self._settle(order, "failed" if isinstance(exc, BrokerUnavailableError) else "rejected", str(exc))
            raise
        finally:
            self.observe_broker(time.perf_counter() - t0)
        if report.status == "placed":
            # Conditional: a fill of this resting order may have been booked already (feed thread).
            if self.ledger.set_order_status(
                order.id, "placed", broker_order_id=report.broker_order_id, only_from=("pending", "sent")
            ):
                self.observe_status("placed")
                return replace(order, status="placed", broker_order_id=report.broker_order_id)
            return self.ledger.get_order(order.id) or order
        self.apply_fill(report, order)
        return replace(
            order,
            status="filled",
            broker_order_id=order.broker_order_id or report.broker_order_id,
            fill_price=report.price,
            updated_at=report.ts,
        )

    def _settle(self, order: OrderRow, status: str, message: str) -> None:
        self.ledger.set_order_status(order.id, status, message)
        self.observe_status(status)
        payload = {"id": order.id, "user_id": order.user_id, "symbol": order.symbol, "status": status}
        self._emit("order", payload)

    def apply_fill(self, report: ExecReport | SwapReport, order: OrderRow | None = None) -> bool:
        """Book a fill (also the broker's asynchronous limit fills, and the deals the broker made on
        its own, such as an sl or tp closing a position) and announce it; True when newly booked.
        A paper position's overnight swap comes the same way and is booked, not announced.

        An order looked up by the report's reference is looked up and booked in one unit of
        work: on SQLite that waits for the write lock, so a fill reported while the order's own
        transaction is still open (atomic mode) finds the order committed instead of being
        dropped as unknown. The order path passes its order, whose fill is booked on its own
        (one statement on PostgreSQL, see :meth:`Trades.record_fill`).
        """
        if isinstance(report, SwapReport):
            return book_swap(self.ledger, report)
        if report.ref is None and order is None:
            return self._apply_broker_close(report)
        if order is not None and report.price is not None:
            booked = book_fill(self.ledger, order, report) is not None
        else:
            with self.ledger.unit_of_work():
                order = order or (self.ledger.get_order(report.ref) if report.ref is not None else None)
                if order is None or report.price is None:
                    log.error("fill for unknown order: %s", report)
                    return False
                booked = book_fill(self.ledger, order, report) is not None
        if not booked:  # booked before (the other of the live path and the broker sync)
            return False
        self.observe_status("filled")
        self._emit_fill(order, report, self._owner(order))
        return True

    def _owner(self, order: OrderRow) -> int:
        """Who a fill concerns: for a close, the user whose order opened the position (the
        kill switch's flatten closes other users' positions under the system user)."""
        if order.position_id is None:
            return order.user_id
        pos = self.ledger.get_position(order.position_id)
        opener = self.ledger.get_order(pos.order_id) if pos is not None and pos.order_id else None
        return opener.user_id if opener is not None else order.user_id

    def _emit_fill(self, order: OrderRow, report: ExecReport, user_id: int, **extra: object) -> None:
        payload: dict[str, object] = {
            "user_id": user_id,
            "order_id": order.id,
            "symbol": order.symbol,
            "side": order.side,
            "volume": report.volume,
            "price": report.price,
            "status": "filled",
        }
        self._emit("fill", payload | extra)

    def _apply_broker_close(self, report: ExecReport) -> bool:
        order = book_broker_close(self.ledger, report)
        if order is None:
            return False
        self.observe_status("filled")
        # The event goes to whoever opened the position (the closing order is the system's).
        owner = self._owner(order)
        self._emit_fill(order, report, owner, position_id=order.position_id, reason=report.reason)
        return True

    def cancel(self, who: Principal, order_id: int) -> OrderRow:
        """Cancel a working order of ``who`` (admins may cancel any)."""
        order = self.ledger.get_order(order_id)
        if order is None or (order.user_id != who.user_id and not who.allows("admin")):
            raise NotFoundError(f"no order {order_id}")
        if order.status != "placed" or order.broker_order_id is None:
            raise ConflictError(f"order {order_id} is {order.status}; only working orders can be cancelled")
        self.broker.cancel(order.broker_order_id)
        self._cancelled(order_id, "cancelled by " + who.name)
        return self.ledger.get_order(order_id)  # type: ignore[return-value]

    def _cancelled(self, order_id: int, message: str) -> None:
        if self.ledger.set_order_status(order_id, "cancelled", message, only_from=("placed",)):
            self.observe_status("cancelled")

    def cancel_working(self, message: str) -> list[str]:
        """Cancel every working order (the kill switch); one line per order saying what happened."""
        done = []
        for order in self.ledger.list_orders(status=("placed",), limit=10_000):
            try:
                self.broker.cancel(order.broker_order_id or "")
                self._cancelled(order.id, message)
                done.append(f"cancelled order {order.id}")
            except BrokerError as exc:
                done.append(f"cancel of order {order.id} failed: {exc}")
        return done
