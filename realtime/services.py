"""Services: every long-lived component of one app, built from Settings in the lifespan."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml.costs import CostModel
from realtime.access.auth import Authenticator
from realtime.access.ratelimit import TokenBucketLimiter
from realtime.brokers.base import AccountState, Broker, Quote
from realtime.brokers.paper import PaperBroker
from realtime.errors import BrokerError
from realtime.events.hub import SignalHub
from realtime.inference.reloader import ModelReloader
from realtime.inference.signals import SignalEngine
from realtime.ledger.halts import load_halt, save_halt
from realtime.ledger.store import Ledger
from realtime.settings import Settings
from realtime.telemetry.metrics import Metrics
from realtime.trading.orders import OrderService
from realtime.trading.reconcile import reconcile
from realtime.trading.restart import restore_paper
from realtime.trading.risk import RiskLimits, RiskManager

log = logging.getLogger(__name__)


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


def make_broker(settings: Settings, mt5_module: Any = None) -> Broker:
    """The configured broker; MT5 needs the MetaTrader5 module (or a bridge/simulator object)."""
    if settings.broker == "mt5":
        from realtime.brokers.mt5 import MT5Broker

        if mt5_module is None:  # Windows: the MetaTrader5 module; elsewhere REALTIME_MT5_BRIDGE
            from marketdata.mt5_bridge import mt5_module as load_mt5

            mt5_module = load_mt5(settings.mt5_bridge, settings.mt5_bridge_timeout_s)
        broker = MT5Broker(mt5_module, magic=settings.mt5_magic, deviation=settings.mt5_deviation)
        broker.connect()
        return broker
    return PaperBroker(
        CostModel(
            commission_per_lot=settings.commission_per_lot,
            slippage_pips=settings.slippage_pips,
            apply_swap=settings.paper_swap,
        ),
        balance=settings.paper_balance,
        leverage=settings.leverage,
    )


@dataclass
class Services:
    """What routes reach through ``request.app.state.svc``."""

    settings: Settings
    engine: SignalEngine
    ledger: Ledger
    broker: Broker
    risk: RiskManager
    orders: OrderService
    auth: Authenticator
    limiter: TokenBucketLimiter
    explain_limiter: TokenBucketLimiter
    hub: SignalHub
    metrics: Metrics
    reloader: ModelReloader
    feed_status: dict[str, Any] = field(default_factory=dict)
    llm_router: Any = None
    kill_actions: threading.Thread | None = None  # set when an order's own check fired the switch

    def quote_from_bar(self, symbol: str, bar: dict[str, Any]) -> None:
        """Price the paper broker from a bar's close (its quote time is the bar's end)."""
        if isinstance(self.broker, PaperBroker):
            ts = pd.Timestamp(bar["ts"]).to_pydatetime() + dt.timedelta(minutes=1)
            self.on_quote(Quote(symbol, float(bar["bid_close"]), float(bar["ask_close"]), ts))

    def on_quote(self, q: Quote) -> None:
        """A new quote from the feed: paper fills, feed lag, kill-switch watch.

        Quotes for symbols this service does not serve are dropped and counted: a feed (or a
        NATS publisher) sending junk symbols must not create paper quotes or metric series.
        """
        if q.symbol not in self.settings.symbols:
            self.count_dropped("other", "unknown_symbol")  # "other": a bounded label value
            return
        if isinstance(self.broker, PaperBroker):
            self.broker.update_quote(q)
        self.feed_status[q.symbol] = q.ts  # /metrics derives the feed lag from it when rendered
        if self.risk.watch(on_quote=True):
            self._halt_guarded(persist=True)

    def count_dropped(self, symbol: str, reason: str) -> None:
        """Count one dropped feed event (``feed_status["dropped"]`` and the metric)."""
        self.feed_status["dropped"] = self.feed_status.get("dropped", 0) + 1
        self.metrics.feed_dropped.labels(symbol, reason).inc()

    def on_drawdown_kill(self) -> list[str]:
        """The drawdown switch just engaged: persist it, cancel working orders, maybe flatten."""
        save_halt(self.ledger, self.risk.killed_reason, "risk")
        return self.orders.halt(self.settings.flatten_on_kill)

    def _killed_in_order(self, reason: str) -> None:
        # Called by the pre-trade check, inside the order's transaction (on SQLite, holding the
        # ledger's write lock): the state is saved with the rejected order, but the actions,
        # which write and place closing orders themselves, run once that transaction is over.
        save_halt(self.ledger, reason, "risk")
        self.kill_actions = threading.Thread(target=self._halt_guarded, name="kill-switch", daemon=True)
        self.kill_actions.start()

    def _halt_guarded(self, persist: bool = False) -> None:
        # Called from the feed and from a thread: the switch holds in memory whatever happens,
        # and a failure is logged rather than stopping the feed or vanishing in a thread.
        try:
            if persist:
                save_halt(self.ledger, self.risk.killed_reason, "risk")
            self.orders.halt(self.settings.flatten_on_kill)
        except Exception:
            log.exception("kill-switch actions failed")

    def kill(self, reason: str, flatten: bool, actor: str) -> list[str]:
        """Engage the kill switch by hand (persisted), cancel working orders, maybe flatten."""
        self.risk.engage(reason)  # in memory first: a ledger failure must not leave trading on
        save_halt(self.ledger, reason, actor)
        return self.orders.halt(flatten)

    def resume(self, actor: str) -> None:
        """Release the kill switch (persisted); the drawdown peak restarts at today's equity."""
        save_halt(self.ledger, None, actor)
        self.risk.reset(self.risk.read_equity())


def build_services(
    cfg: Settings, engine: SignalEngine, mt5_module: Any = None, metrics: Metrics | None = None
) -> Services:
    """Wire ledger, broker, risk, orders, auth and metrics; reconcile the ledger with the broker.

    ``metrics``: the registry ``/metrics`` renders (the app's); order, broker and model-version
    observations are wired to it here, so it must be the same object the app serves.
    """
    ledger = Ledger(cfg.resolved_ledger_url(), cfg.ledger_schema)
    admin = ledger.accounts.ensure_user("admin", "admin")
    ledger.accounts.add_api_key(admin, cfg.api_key.get_secret_value())
    broker = make_broker(cfg, mt5_module)
    risk = RiskManager(
        RiskLimits(
            cfg.max_order_lots,
            cfg.max_position_lots,
            cfg.max_total_exposure_lots,
            cfg.max_daily_loss,
            cfg.max_drawdown,
            cfg.trading_hours_utc,
            cfg.max_quote_age_s,
            cfg.max_tick_future_s,
        ),
        equity=equity_reader(broker),
        watch_every_s=cfg.equity_check_s,
    )
    halted = load_halt(ledger)
    if halted is not None:  # engaged before the restart: still engaged until an admin resumes
        risk.engage(halted)
        log.warning("kill switch still engaged from before the restart: %s", halted)
    hub, metrics = SignalHub(), metrics or Metrics()
    hub.nats_prefix = cfg.nats_subject_prefix
    # SQLite has one writer, so more threads only queue; PostgreSQL overlaps network round trips.
    # SQLite with the paper broker runs inline on the loop (see OrderService.place_async):
    # measured ~600 orders/s inline against ~330 through a worker thread.
    sqlite = ledger.engine.dialect.name == "sqlite"
    local = sqlite and isinstance(broker, PaperBroker)
    workers = (None if local else 2) if sqlite else 8
    # One transaction per paper order on SQLite (see OrderService.place). Not on PostgreSQL,
    # where a duplicate client id aborts the whole transaction it happens in.
    orders = OrderService(ledger, broker, risk, on_event=hub.publish, workers=workers, atomic=local)
    orders.observe_broker = metrics.broker_seconds.observe
    orders.observe_status = lambda status: metrics.orders.labels(status).inc()
    if isinstance(broker, PaperBroker):
        broker.on_fill = orders.apply_fill
        restore_paper(broker, ledger, cfg.paper_balance)
    reconcile(ledger, broker)
    # The drawdown peak starts at today's equity, not at the first account request.
    risk.peak_equity = risk.read_equity()
    auth = Authenticator(
        ledger,
        cfg.jwt_secret.get_secret_value() if cfg.jwt_secret else None,
        cfg.jwt_ttl_s,
        login_limiter=TokenBucketLimiter(cfg.login_rate_per_min / 60.0, cfg.login_burst),
        bad_key_limiter=TokenBucketLimiter(cfg.bad_key_rate_per_min / 60.0, cfg.bad_key_burst),
    )
    reloader = ModelReloader(
        engine,
        cfg.mlflow_tracking_uri,
        cfg.model_name,
        cfg.model_alias,
        on_swap=lambda m: metrics.model_version.labels(m.name, m.alias).set(float(m.version)),
    )
    metrics.model_version.labels(engine.loaded.name, engine.loaded.alias).set(float(engine.loaded.version))
    svc = Services(
        cfg,
        engine,
        ledger,
        broker,
        risk,
        orders,
        auth,
        TokenBucketLimiter(cfg.rate_limit_per_s, cfg.rate_limit_burst),
        TokenBucketLimiter(
            cfg.explain_rate_limit_per_min / 60.0, max(1, int(cfg.explain_rate_limit_per_min))
        ),
        hub,
        metrics,
        reloader,
    )
    risk.on_kill = svc._killed_in_order
    return svc
