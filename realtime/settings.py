"""Realtime settings (pydantic-settings, prefix REALTIME_). Placeholder secrets are refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "secret", "dev-key", "test", "password"}
PLACEHOLDERS |= {"default", "admin", "apikey", "api-key", "api_key", "jwt-secret", "secret-key", "example"}
# Template values padded to length ("changeme-changeme-changeme") are still placeholders.
PLACEHOLDER_MARKS = ("changeme", "change-me", "change_me", "changethis", "placeholder", "replace-me", "your-")


def _refuse(name: str, v: SecretStr | None, min_len: int) -> SecretStr | None:
    """``v`` unless it is a known placeholder, contains one, is shorter than ``min_len``, or
    repeats a few characters ("xxxxxxxxxxxxxxxx"). The message names the setting only: the
    value itself never reaches an error or a log (see ``hide_input_in_errors``)."""
    if v is None:
        return v
    raw = v.get_secret_value()
    key = raw.strip().lower()
    if key in PLACEHOLDERS or any(m in key for m in PLACEHOLDER_MARKS) or len(set(key)) < 5:
        raise ValueError(f"REALTIME_{name.upper()} is a placeholder value; set a real secret")
    if len(raw) < min_len:
        raise ValueError(f"REALTIME_{name.upper()} is shorter than {min_len} characters")
    return v


class Settings(BaseSettings):
    """Everything the service needs, from the environment or a .env file.

    ``api_key`` is the bootstrap admin key: at start-up it is stored (hashed) in the ledger for
    the ``admin`` user, so a fresh deployment can create users and keys through the API.
    """

    # hide_input_in_errors: a refused secret must not be echoed into start-up logs.
    model_config = SettingsConfigDict(
        env_prefix="REALTIME_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    api_key: SecretStr
    jwt_secret: SecretStr | None = None
    jwt_ttl_s: int = 3600
    mlflow_tracking_uri: str = "sqlite:///data/mlflow.db"
    model_name: str = "alphaforge-signal"
    model_alias: str = "champion"
    # Without the alias, serve the newest version for signals only (orders refused with 423);
    # false: refuse to start instead.
    serve_newest_without_alias: bool = True
    log_level: str = "INFO"  # root level of the JSON logs (realtime.telemetry.logs)
    model_poll_s: float = 0.0  # 0 = no alias polling; POST /admin/reload still works
    # A remote broker (MT5): read orders, positions and deals back this often; 0 = off.
    broker_sync_s: float = Field(default=5.0, ge=0.0)
    data_dir: Path = Path("data")
    symbols: list[str] = ["EURUSD"]
    replay_bars: int = 0  # stored bars to replay at start-up beyond what the first signal needs
    ledger_url: str | None = None  # default: SQLite (WAL) at data_dir/ledger.db
    ledger_schema: str | None = None  # PostgreSQL schema (tests use a throwaway one)
    broker: Literal["paper", "mt5"] = "paper"
    paper_balance: float = Field(default=100_000.0, gt=0.0)
    commission_per_lot: float = Field(default=3.5, ge=0.0)
    slippage_pips: float = Field(default=0.0, ge=0.0)
    paper_swap: bool = True  # overnight swap at the 17:00 New York rollover, as the backtest charges
    leverage: float = Field(default=30.0, gt=0.0, le=1000.0)
    mt5_magic: int = 234000
    mt5_deviation: int = 20
    # host:port of a classic RPyC server whose Python has the MetaTrader5 module (mt5linux, the
    # MetaTrader5 Docker images); unset: ``import MetaTrader5`` in this process (Windows).
    mt5_bridge: str | None = None
    mt5_bridge_timeout_s: float = Field(default=30.0, gt=0.0)
    # The broker's server clock (UTC, an IANA zone such as Europe/Athens, or ny-close): MT5 stamps
    # ticks, bars and deals with it; the service converts to UTC both ways.
    mt5_server_tz: str = "UTC"
    # A dropped bridge is retried after this delay, doubling up to the maximum.
    mt5_bridge_backoff_s: float = Field(default=0.5, gt=0.0)
    mt5_bridge_max_backoff_s: float = Field(default=30.0, gt=0.0)
    feed: Literal["none", "replay", "nats", "mt5", "dukascopy"] = "none"
    # replay: the first stored day it plays (default: the newest); warm-up uses the bars before it
    replay_start: dt.date | None = None
    feed_speed: float = 0.0  # replay: 0 = as fast as possible, 1 = real time, 60 = a minute per second
    nats_url: str | None = None
    nats_subject_prefix: str = "alphaforge"
    auto_trade_symbols: list[str] = []
    # The auto-trader's trading policy (ml.policy.TradingPolicy, as the evaluation backtest's):
    # lots per position, long-only, stops in pips from the entry.
    auto_trade_lots: float = Field(default=0.1, gt=0.0)
    auto_trade_long_only: bool = False
    auto_trade_stop_loss_pips: float | None = Field(default=None, gt=0.0)
    auto_trade_take_profit_pips: float | None = Field(default=None, gt=0.0)
    account_currency: str = Field(default="USD", pattern="^[A-Z]{3}$")  # every money figure is in it
    # risk
    # Validated: a negative or zero limit would refuse everything or nothing without a word.
    max_order_lots: float = Field(default=10.0, gt=0.0)
    max_position_lots: float = Field(default=20.0, gt=0.0)
    max_total_exposure_lots: float = Field(default=50.0, gt=0.0)
    # Per user, working orders included: one trader cannot take the whole desk's room.
    max_user_position_lots: float = Field(default=10.0, gt=0.0)
    max_user_exposure_lots: float = Field(default=25.0, gt=0.0)
    max_daily_loss: float = Field(default=5_000.0, gt=0.0)
    max_drawdown: float = Field(default=0.2, gt=0.0, le=1.0)
    flatten_on_kill: bool = False  # the drawdown kill switch also closes every position
    # Kill-switch watch: read the broker's equity at most this often on quotes and orders
    # (0 = every one); a read is a pass over open positions (paper) or a round trip (MT5).
    equity_check_s: float = Field(default=0.05, ge=0.0)
    trading_hours_utc: tuple[int, int] = (0, 24)  # [start, end) UTC; (22, 6) wraps midnight
    # 0 = do not check staleness (replayed history is old on purpose)
    max_quote_age_s: float = Field(default=0.0, ge=0.0)
    # Ticks dated more than this ahead of the wall clock are dropped (one would freeze the bars).
    max_tick_future_s: float = Field(default=5.0, ge=0.0)
    # limits and web
    rate_limit_per_s: float = Field(default=20.0, gt=0.0)
    rate_limit_burst: int = Field(default=40, ge=1)
    explain_rate_limit_per_min: float = Field(default=6.0, gt=0.0)
    # Password guessing at /auth/token, per username and per client IP (scrypt per attempt).
    login_rate_per_min: float = Field(default=6.0, gt=0.0)
    login_burst: int = Field(default=5, ge=1)
    # Failed API-key verifications per client IP (each wrong key costs an scrypt).
    bad_key_rate_per_min: float = Field(default=30.0, gt=0.0)
    bad_key_burst: int = Field(default=10, ge=1)
    # How often an open WebSocket re-checks that its key is live and its token unexpired.
    ws_auth_check_s: float = Field(default=5.0, gt=0.0)
    # Open WebSockets per user and in all (over either cap: closed with 1008 / 1013), and the
    # messages queued per client before its oldest are dropped (counted in /metrics).
    ws_max_per_key: int = Field(default=5, ge=1)
    ws_max_total: int = Field(default=500, ge=1)
    ws_queue_size: int = Field(default=100, ge=1)
    ws_max_message_bytes: int = Field(default=65_536, ge=1024)
    # Seconds an idle connection, or one still sending its headers, is kept (see realtime.serving).
    keep_alive_s: float = Field(default=5.0, gt=0.0)
    # Comma-separated proxy addresses whose X-Forwarded-For / -Proto are believed; empty: none.
    trusted_proxies: str = ""
    cors_origins: list[str] = []
    otel: bool = False  # FastAPI's OpenTelemetry traces/metrics/logs (exporters via OTEL_* variables)
    max_body_bytes: int = Field(default=16_384, ge=1024)
    max_header_bytes: int = Field(default=16_384, ge=1024)
    # Rate limits shared by every worker and replica through Redis (e.g. redis://127.0.0.1:6379/0);
    # None keeps them in this process, which is right for one worker only.
    redis_url: str | None = None
    redis_prefix: str = "af"  # of every key this deployment keeps in that Redis
    # /openapi.json without a key (a public API reference); by default only users with a key see it.
    docs_public: bool = False

    @field_validator("api_key")
    @classmethod
    def _refuse_placeholder(cls, v: SecretStr) -> SecretStr:
        out = _refuse("api_key", v, 12)
        assert out is not None
        return out

    @field_validator("jwt_secret")
    @classmethod
    def _refuse_weak_jwt(cls, v: SecretStr | None) -> SecretStr | None:
        # HS256 keys shorter than 32 bytes are guessable (PyJWT warns about them too).
        return _refuse("jwt_secret", v, 32)

    @field_validator("trading_hours_utc")
    @classmethod
    def _hours(cls, v: tuple[int, int]) -> tuple[int, int]:
        start, end = v
        if not (0 <= start <= 23 and 1 <= end <= 24) or start == end:
            raise ValueError(
                f"trading_hours_utc {v} must be [start, end) hours with 0 <= start <= 23, "
                "1 <= end <= 24 and start != end; use (0, 24) for all day, (22, 6) to wrap midnight"
            )
        return v

    def resolved_ledger_url(self) -> str:
        """The ledger URL, defaulting to a SQLite file under ``data_dir``."""
        return self.ledger_url or f"sqlite:///{self.data_dir / 'ledger.db'}"
