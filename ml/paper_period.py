"""The paper-trading period: a version that held the gate trades on paper before @champion.

With ``PromotionGate.paper_days`` the gate's pass points @paper at the version
(:func:`ml.registry.start_paper_period`). A realtime service serving ``REALTIME_MODEL_ALIAS=paper``
on the paper broker trades it; its auto-trader names the version in each opening order, so the
service's ledger can answer that version's round trips, net of commission and swap
(``GET /api/v1/models/{version}/trades``). Once the period has run, :func:`judge` weighs those
trades (the realtime tier's own fills, not a backtest) and :func:`conclude` moves @champion, or
drops @paper and records why.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlflow import MlflowClient

from ml.registry import PAPER, alias_version, make_champion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaperRules:
    """What a paper period must show: at least ``min_trades`` closed round trips and a net P&L
    (account currency, after commission and swap) of at least ``min_net_pnl``."""

    min_trades: int = 20
    min_net_pnl: float = 0.0


@dataclass(frozen=True)
class PaperPeriod:
    """The version on @paper, and since when and for how long it trades there."""

    version: str
    since: dt.datetime
    days: float

    def ends(self) -> dt.datetime:
        """When the period is over."""
        return self.since + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class PaperVerdict:
    """``running`` until the period ends; then ``passed`` or ``failed`` (with ``failures``)."""

    version: str
    state: Literal["running", "passed", "failed"]
    n_trades: int
    net_pnl: float
    failures: list[str] = field(default_factory=list)


def current_period(client: MlflowClient, name: str) -> PaperPeriod | None:
    """The @paper version's period, or None when no version is on paper."""
    version = alias_version(client, name, PAPER)
    if version is None:
        return None
    tags = client.get_model_version(name, version).tags
    return PaperPeriod(version, dt.datetime.fromisoformat(tags["paper.since"]), float(tags["paper.days"]))


def judge(
    period: PaperPeriod, trades: Iterable[Mapping[str, Any]], rules: PaperRules, now: dt.datetime
) -> PaperVerdict:
    """The verdict on ``period`` at ``now`` from its round trips (each with ``net_pnl`` and
    ``opened_at``; trades opened before the period began are not its own and are ignored)."""
    own = [t for t in trades if _ts(t["opened_at"]) >= period.since]
    net = sum(float(t["net_pnl"]) for t in own)
    if not math.isfinite(net):
        raise ValueError(f"the paper trades of v{period.version} carry a non-finite P&L")
    if now < period.ends():
        return PaperVerdict(period.version, "running", len(own), net)
    failures = []
    if len(own) < rules.min_trades:
        failures.append(f"{len(own)} paper trades < {rules.min_trades}")
    if not net >= rules.min_net_pnl:
        failures.append(f"paper net P&L {net:.2f} < {rules.min_net_pnl:g}")
    return PaperVerdict(period.version, "failed" if failures else "passed", len(own), net, failures)


def conclude(client: MlflowClient, name: str, verdict: PaperVerdict) -> bool:
    """Record ``verdict`` on its version; when it passed, the version becomes @champion. A
    concluded period leaves @paper either way. True when @champion moved."""
    version = verdict.version
    client.set_model_version_tag(name, version, "paper.trades", str(verdict.n_trades))
    client.set_model_version_tag(name, version, "paper.net_pnl", f"{verdict.net_pnl:.6g}")
    client.set_model_version_tag(name, version, "paper.verdict", verdict.state)
    if verdict.state == "running":
        return False
    client.set_model_version_tag(name, version, "paper.failures", "; ".join(verdict.failures) or "none")
    if alias_version(client, name, PAPER) == version:
        client.delete_registered_model_alias(name, PAPER)
    if verdict.state == "failed":
        log.warning("%s v%s failed its paper period: %s", name, version, "; ".join(verdict.failures))
        return False
    make_champion(client, name, version)
    return True


def _ts(value: object) -> dt.datetime:
    ts = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
