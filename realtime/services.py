"""Services: every long-lived component of one app, built from Settings in the lifespan (the
composition root: which broker, which ledger, and how the parts are wired)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ml.costs import CostModel
from ml.policy import TradingPolicy
from realtime.access.auth import Authenticator
from realtime.access.ratelimit import TokenBucketLimiter, make_limiter
from realtime.brokers.base import Broker, LocalAccount
from realtime.brokers.paper import PaperBroker
from realtime.events.hub import SignalHub
from realtime.feeds.status import FeedStatus
from realtime.inference.reloader import ModelReloader
from realtime.inference.signals import SignalEngine
from realtime.ledger.halts import load_halt
from realtime.ledger.store import Ledger
from realtime.settings import Settings
from realtime.telemetry.metrics import Metrics
from realtime.trading.autotrader import AutoTrader
from realtime.trading.desk import Desk, equity_reader
from realtime.trading.orders import OrderService, order_workers
from realtime.trading.reconcile import reconcile
from realtime.trading.restart import restore_account
from realtime.trading.risk import RiskLimits, RiskManager

if TYPE_CHECKING:  # built on the first /explain call; importing it here would cost every start
    from ml.llm.router import LLMRouter

log = logging.getLogger(__name__)


def make_broker(settings: Settings, mt5_module: Any = None) -> Broker:
    """The configured broker; MT5 needs the MetaTrader5 module (or a bridge/simulator object)."""
    if settings.broker == "mt5":
        from marketdata.mt5_utc import UTCTerminal
        from marketdata.server_time import parse_server_tz
        from realtime.brokers.mt5 import MT5Broker

        if mt5_module is None:  # Windows: the MetaTrader5 module; elsewhere REALTIME_MT5_BRIDGE
            from marketdata.mt5_bridge import mt5_module as load_mt5

            mt5_module = load_mt5(
                settings.mt5_bridge,
                settings.mt5_bridge_timeout_s,
                settings.mt5_bridge_backoff_s,
                settings.mt5_bridge_max_backoff_s,
            )
        if parse_server_tz(settings.mt5_server_tz)[0] is not None:  # a server clock other than UTC
            mt5_module = UTCTerminal(mt5_module, settings.mt5_server_tz)
        broker = MT5Broker(
            mt5_module,
            magic=settings.mt5_magic,
            deviation=settings.mt5_deviation,
            account_currency=settings.account_currency,
        )
        broker.connect()
        return broker
    return PaperBroker(
        CostModel(
            commission_per_lot=settings.commission_per_lot,
            slippage_pips=settings.slippage_pips,
            apply_swap=settings.paper_swap,
            account_currency=settings.account_currency,
        ),
        balance=settings.paper_balance,
        leverage=settings.leverage,
    )


def trading_policy(settings: Settings) -> TradingPolicy:
    """The auto-trader's policy: the same object the evaluation backtest trades, sized in lots."""
    return TradingPolicy(
        long_only=settings.auto_trade_long_only,
        lots=settings.auto_trade_lots,
        stop_loss_pips=settings.auto_trade_stop_loss_pips,
        take_profit_pips=settings.auto_trade_take_profit_pips,
    )


@dataclass
class Services:
    """What routes reach through ``request.app.state.svc``: every long-lived component, built
    once in the lifespan. A plain container; the live loop's behaviour is the desk's."""

    settings: Settings
    engine: SignalEngine
    ledger: Ledger
    broker: Broker
    risk: RiskManager
    orders: OrderService
    desk: Desk
    auto_trader: AutoTrader
    auth: Authenticator
    limiter: TokenBucketLimiter
    explain_limiter: TokenBucketLimiter
    hub: SignalHub
    metrics: Metrics
    reloader: ModelReloader
    feed_status: FeedStatus
    llm_router: LLMRouter | None = None


def build_services(
    cfg: Settings, engine: SignalEngine, mt5_module: Any = None, metrics: Metrics | None = None
) -> Services:
    """Wire ledger, broker, risk, orders, auth and metrics; reconcile the ledger with the broker.

    ``metrics``: the registry ``/metrics`` renders (the app's); order, broker and model-version
    observations are wired to it here, so it must be the same object the app serves.
    """
    ledger = Ledger(cfg.resolved_ledger_url(), cfg.ledger_schema)
    for key_id in ledger.accounts.install_bootstrap_key(cfg.api_key.get_secret_value()):
        log.warning("REALTIME_API_KEY changed: the previous bootstrap key %s is revoked", key_id)
    broker = make_broker(cfg, mt5_module)
    risk = RiskManager(
        RiskLimits(
            max_order_lots=cfg.max_order_lots,
            max_position_lots=cfg.max_position_lots,
            max_total_exposure_lots=cfg.max_total_exposure_lots,
            max_daily_loss=cfg.max_daily_loss,
            max_drawdown=cfg.max_drawdown,
            trading_hours_utc=cfg.trading_hours_utc,
            max_quote_age_s=cfg.max_quote_age_s,
            future_tolerance_s=cfg.max_tick_future_s,
            max_user_position_lots=cfg.max_user_position_lots,
            max_user_exposure_lots=cfg.max_user_exposure_lots,
        ),
        equity=equity_reader(broker),
        watch_every_s=cfg.equity_check_s,
    )
    halted = load_halt(ledger)
    if halted is not None:  # engaged before the restart: still engaged until an admin resumes
        risk.engage(halted)
        log.warning("kill switch still engaged from before the restart: %s", halted)
    hub = SignalHub(cfg.ws_queue_size, cfg.ws_max_per_key, cfg.ws_max_total)
    metrics = metrics or Metrics()
    hub.nats_prefix = cfg.nats_subject_prefix
    caps = broker.capabilities
    workers = order_workers(ledger.engine.dialect.name, caps)
    # One transaction per paper order when orders run inline, i.e. on SQLite with an in-process
    # broker (see OrderService.place). Not on PostgreSQL, where a duplicate client id aborts the
    # whole transaction it happens in.
    orders = OrderService(
        ledger, broker, risk, on_event=hub.publish, workers=workers, atomic=workers is None,
        observe_broker=metrics.broker_seconds.observe,
        observe_status=lambda status: metrics.orders.labels(status).inc(),
    )
    feed_status = FeedStatus()
    desk = Desk(ledger, broker, risk, orders, cfg.symbols, feed_status, metrics, cfg.flatten_on_kill)
    if caps.restored_from_ledger:
        restore_account(cast(LocalAccount, broker), ledger, cfg.paper_balance)
    reconcile(ledger, broker)
    # The drawdown peak starts at today's equity, not at the first account request.
    risk.peak_equity = risk.read_equity()
    auth = Authenticator(
        ledger,
        cfg.jwt_secret.get_secret_value() if cfg.jwt_secret else None,
        cfg.jwt_ttl_s,
        login_limiter=make_limiter(cfg.login_rate_per_min / 60.0, cfg.login_burst, cfg.redis_url, "login",
                                   cfg.redis_prefix),
        bad_key_limiter=make_limiter(
            cfg.bad_key_rate_per_min / 60.0, cfg.bad_key_burst, cfg.redis_url, "bad-key", cfg.redis_prefix
        ),
    )
    reloader = ModelReloader(
        engine,
        cfg.mlflow_tracking_uri,
        cfg.model_name,
        cfg.model_alias,
        on_swap=lambda m: metrics.model_version.labels(m.name, m.alias).set(float(m.version)),
    )
    metrics.model_version.labels(engine.loaded.name, engine.loaded.alias).set(float(engine.loaded.version))
    return Services(
        cfg,
        engine,
        ledger,
        broker,
        risk,
        orders,
        desk,
        AutoTrader(desk, cfg.auto_trade_symbols, trading_policy(cfg),
                   may_trade=lambda: not engine.loaded.signals_only),
        auth,
        make_limiter(cfg.rate_limit_per_s, cfg.rate_limit_burst, cfg.redis_url, "api", cfg.redis_prefix),
        make_limiter(
            cfg.explain_rate_limit_per_min / 60.0,
            max(1, int(cfg.explain_rate_limit_per_min)),
            cfg.redis_url,
            "explain",
            cfg.redis_prefix,
        ),
        hub,
        metrics,
        reloader,
        feed_status,
    )
