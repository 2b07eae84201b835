"""MT5Broker: orders through any module-like object offering the MetaTrader5 API.

On Windows pass ``import MetaTrader5``; on Linux an RPyC proxy to a Windows/Wine Python; in tests
the terminal simulator under tests/support. Every value sent is a plain float/int
(numpy scalars break RPyC bridges, see api-reference §8.2).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from realtime.brokers import mt5_constants as c
from realtime.brokers import mt5_swap
from realtime.brokers.base import (
    AccountState,
    BrokerCapabilities,
    BrokerOutcomeUnknownError,
    BrokerPosition,
    ExecReport,
    OrderIntent,
    Quote,
)
from realtime.errors import BrokerError, BrokerUnavailableError

log = logging.getLogger(__name__)
_COMMENT = "af:"
# DEAL_REASON_* of a deal the server made on its own (MQL5 ENUM_DEAL_REASON): SL, TP, stop-out.
_DEAL_REASONS = {4: "sl", 5: "tp", 6: "stop_out"}


def _ref_of(comment: str) -> int | None:
    return int(comment[len(_COMMENT) :]) if comment.startswith(_COMMENT) and comment[3:].isdigit() else None


def deal_cost(deal: Any) -> float:
    """What a deal cost (positive = paid): its commission and its ``fee`` (a per-deal charge that
    some servers book apart from the commission; older builds have no such field)."""
    return -float(deal.commission) - float(getattr(deal, "fee", 0.0))


def pick_filling(filling_mode: int) -> int:
    """The request's ``type_filling`` from the symbol's allowed set: FOK, then IOC, else RETURN."""
    if filling_mode & c.SYMBOL_FILLING_FOK:
        return c.ORDER_FILLING_FOK
    if filling_mode & c.SYMBOL_FILLING_IOC:
        return c.ORDER_FILLING_IOC
    return c.ORDER_FILLING_RETURN


def retcode_error(retcode: int, comment: str, stage: str) -> BrokerError:
    """A clear error for an MT5 retcode; connection/timeouts become BrokerUnavailableError."""
    text = c.RETCODE_TEXT.get(retcode, "unknown trade server answer")
    cls = BrokerUnavailableError if retcode in c.UNAVAILABLE_RETCODES else BrokerError
    return cls(f"MT5 {stage} refused the order: {text} (retcode {retcode}, {comment!r})", retcode)


class MT5Broker:
    """A hedging MT5 account driven through ``mt5``; orders carry ``magic`` and ``af:<ref>``.

    The server's overnight swap is reported per position (:meth:`closed_swap`, the ``swap`` of
    :meth:`positions`) for the sync to book, converted to ``account_currency`` (None: the
    terminal's deposit currency is the account currency) by :meth:`swap_rate`.
    """

    name = "mt5"
    capabilities = BrokerCapabilities(needs_sync=True, keeps_history=True, charges_swap=True)

    def __init__(
        self,
        mt5: Any,
        magic: int = 234000,
        deviation: int = 20,
        account_currency: str | None = None,
        **login: Any,
    ):
        self.mt5, self.magic, self.deviation, self._login = mt5, magic, deviation, login
        self.account_currency = account_currency

    @property
    def market_data(self) -> Any:
        """The terminal's API: the feed reads its ticks, warm-up its closed bars."""
        return self.mt5

    def connect(self) -> None:
        """``initialize`` the terminal; BrokerUnavailableError with ``last_error`` on failure."""
        if not self.mt5.initialize(**self._login):
            raise BrokerUnavailableError(f"MT5 initialize failed: {self.mt5.last_error()}")
        a = self.mt5.account_info()
        if a is not None and self.account_currency is not None:  # nothing converts it: fail now
            mt5_swap.check_convertible(a.currency, self.account_currency)

    def _unavailable(self, what: str) -> BrokerUnavailableError:
        return BrokerUnavailableError(f"MT5 {what} failed: last_error={self.mt5.last_error()}")

    def _symbol(self, symbol: str) -> Any:
        info = self.mt5.symbol_info(symbol)
        if info is None:
            code, _ = self.mt5.last_error()
            if code == -4:
                raise BrokerError(f"MT5 does not know symbol {symbol}")
            raise self._unavailable(f"symbol_info({symbol})")
        if not info.visible and not self.mt5.symbol_select(symbol, True):
            raise BrokerError(f"MT5 could not select {symbol} in MarketWatch")
        return info

    def quote(self, symbol: str) -> Quote | None:
        """The terminal's newest tick."""
        tick = self.mt5.symbol_info_tick(symbol)
        if tick is None:
            return None
        return Quote(
            symbol, float(tick.bid), float(tick.ask), dt.datetime.fromtimestamp(tick.time_msc / 1000, dt.UTC)
        )

    def _request(self, intent: OrderIntent, info: Any) -> dict[str, Any]:
        buy = intent.side == "buy"
        req: dict[str, Any] = {
            "symbol": intent.symbol,
            "volume": float(intent.volume),
            "magic": int(self.magic),
            "comment": f"{_COMMENT}{intent.ref}",
            "type_time": c.ORDER_TIME_GTC,
            "type_filling": int(pick_filling(int(info.filling_mode))),
            "deviation": int(self.deviation),
        }
        if intent.type == "limit":
            req.update(
                action=c.TRADE_ACTION_PENDING,
                price=float(intent.price or 0.0),
                type=c.ORDER_TYPE_BUY_LIMIT if buy else c.ORDER_TYPE_SELL_LIMIT,
            )
        else:
            tick = self.mt5.symbol_info_tick(intent.symbol)
            if tick is None:
                raise BrokerUnavailableError(f"MT5 has no tick for {intent.symbol}: {self.mt5.last_error()}")
            req.update(
                action=c.TRADE_ACTION_DEAL,
                price=float(tick.ask if buy else tick.bid),
                type=c.ORDER_TYPE_BUY if buy else c.ORDER_TYPE_SELL,
            )
        if intent.close_position is not None:
            req["position"] = int(intent.close_position)
        for k in ("sl", "tp"):
            if getattr(intent, k) is not None:
                req[k] = float(getattr(intent, k))
        return req

    def submit(self, intent: OrderIntent) -> ExecReport:
        """order_check, then order_send; DONE -> filled, PLACED -> placed, else a clear error."""
        req = self._request(intent, self._symbol(intent.symbol))
        check = self.mt5.order_check(req)
        if check is None:
            raise self._unavailable("order_check")
        if check.retcode != 0:  # order_check's success is 0, not DONE
            raise retcode_error(check.retcode, check.comment, "order_check")
        try:
            res = self.mt5.order_send(req)
        except Exception as exc:  # a bridge raises on a dropped link, whatever the terminal did
            raise self._unknown(intent, f"order_send raised {type(exc).__name__}: {exc}") from exc
        if res is None:
            raise self._unknown(intent, f"order_send returned nothing, last_error={self.mt5.last_error()}")
        if res.retcode in c.UNAVAILABLE_RETCODES:
            text = c.RETCODE_TEXT.get(res.retcode, "")
            raise self._unknown(intent, f"order_send answered {text} (retcode {res.retcode})", res.retcode)
        if res.retcode == c.TRADE_RETCODE_PLACED:
            return ExecReport("placed", str(res.order), float(res.price), 0.0, ref=intent.ref)
        if res.retcode not in (c.TRADE_RETCODE_DONE, c.TRADE_RETCODE_DONE_PARTIAL):
            raise retcode_error(res.retcode, res.comment, "order_send")
        # DONE_PARTIAL books the volume dealt: under FOK/IOC (preferred by pick_filling) the
        # server cancels the remainder. Only a RETURN-only symbol would leave it working.
        return self._report(
            intent.ref,
            res.order,
            res.deal,
            float(res.price),
            float(res.volume),
            intent.close_position or str(res.order),
        )

    @staticmethod
    def _unknown(intent: OrderIntent, what: str, retcode: int | None = None) -> BrokerOutcomeUnknownError:
        # After order_send the request may have been executed even without an answer: say so,
        # rather than "failed", so that reconciliation looks for the deal.
        return BrokerOutcomeUnknownError(
            f"MT5 {what}: the outcome of order {intent.ref} is unknown; "
            "it will be reconciled with the terminal's deals",
            retcode,
        )

    def _report(self, ref: int, order: int, deal: int, price: float, volume: float, pos: str) -> ExecReport:
        deals = self.mt5.history_deals_get(ticket=int(order)) or ()
        commission = sum(deal_cost(d) for d in deals if d.ticket == deal)
        return ExecReport("filled", str(order), price, volume, commission, str(deal), pos, ref=ref)

    def cancel(self, broker_order_id: str) -> None:
        """Remove a working pending order."""
        res = self.mt5.order_send({"action": c.TRADE_ACTION_REMOVE, "order": int(broker_order_id)})
        if res is None:
            raise self._unavailable("order_send(remove)")
        if res.retcode != c.TRADE_RETCODE_DONE:
            raise retcode_error(res.retcode, res.comment, "order_send(remove)")

    def _positions(self) -> tuple[Any, ...]:
        rows = self.mt5.positions_get()
        if rows is None:
            raise self._unavailable("positions_get")
        return tuple(p for p in rows if p.magic == self.magic)

    def positions(self) -> list[BrokerPosition]:
        """This magic number's open positions, read back from the terminal, with their swap."""
        return [
            BrokerPosition(
                str(p.ticket),
                p.symbol,
                "buy" if p.type == c.POSITION_TYPE_BUY else "sell",
                float(p.volume),
                float(p.price_open),
                _ref_of(p.comment),
                float(p.sl) or None,
                float(p.tp) or None,
                float(p.swap),
            )
            for p in self._positions()
        ]

    def closed_swap(self, broker_position_id: str) -> tuple[float, float]:
        """The swap the position's closing deals realised (deposit currency), and the lots they
        leave open."""
        return mt5_swap.closed_swap(self.mt5, broker_position_id)

    def swap_rate(self) -> float | None:
        """Deposit-to-account currency rate (1.0 when no ``account_currency`` was set)."""
        if self.account_currency is None:
            return 1.0
        a = self.mt5.account_info()
        if a is None:
            raise self._unavailable("account_info")
        return mt5_swap.deposit_rate(self.mt5, a.currency, self.account_currency)

    def open_orders(self) -> list[str]:
        """Tickets of this magic number's working orders."""
        rows = self.mt5.orders_get()
        if rows is None:
            raise self._unavailable("orders_get")
        return [str(o.ticket) for o in rows if o.magic == self.magic]

    def _deals(self, **kw: Any) -> tuple[Any, ...]:
        if not kw:
            now = dt.datetime.now(dt.UTC)
            deals = self.mt5.history_deals_get(now - dt.timedelta(days=7), now + dt.timedelta(days=1))
        else:
            deals = self.mt5.history_deals_get(**kw)
        if deals is None:
            raise self._unavailable("history_deals_get")
        return tuple(deals)

    def _deal_report(self, d: Any, ref: int | None, reason: str | None = None) -> ExecReport:
        return ExecReport(
            "filled",
            str(d.order),
            float(d.price),
            float(d.volume),
            deal_cost(d),
            str(d.ticket),
            str(d.position_id),
            ref=ref,
            reason=reason,
        )

    def fills_for(self, ref: int) -> ExecReport | None:
        """The deal the terminal made for ledger order ``ref`` (matched on the ``af:<ref>`` comment)."""
        for d in self._deals():
            if d.magic == self.magic and _ref_of(d.comment) == ref:
                return self._deal_report(d, ref)
        return None

    def working_order(self, ref: int) -> str | None:
        """The ticket of ledger order ``ref`` if it is a working pending order at the terminal."""
        rows = self.mt5.orders_get()
        if rows is None:
            raise self._unavailable("orders_get")
        return next(
            (str(o.ticket) for o in rows if o.magic == self.magic and _ref_of(o.comment) == ref), None
        )

    def position_closes(self, broker_position_id: str) -> list[ExecReport]:
        """The exit deals of a position: ours carry ``af:<ref>``; a stop-loss, take-profit,
        stop-out or a close by hand at the terminal carries none and gets a ``reason``."""
        out = []
        for d in self._deals(position=int(broker_position_id)):
            if d.entry == c.DEAL_ENTRY_IN:
                continue
            ref = _ref_of(d.comment) if d.magic == self.magic else None
            reason = None if ref is not None else _DEAL_REASONS.get(int(getattr(d, "reason", -1)), "broker")
            out.append(self._deal_report(d, ref, reason))
        return out

    def account(self) -> AccountState:
        """Balance, equity and margin from ``account_info``; ``swap``: what this magic number's
        open positions accrued, which equity includes and the ledger books."""
        a = self.mt5.account_info()
        if a is None:
            raise self._unavailable("account_info")
        swap = sum(float(p.swap) for p in self._positions())
        return AccountState(float(a.balance), float(a.equity), float(a.margin), a.currency, swap)

    def ping(self) -> bool:
        """True when ``account_info`` answers."""
        return self.mt5.account_info() is not None
