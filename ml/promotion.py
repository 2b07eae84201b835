"""The one promotion path: judge a registered version out of sample, then move @champion only
when the gate holds.

The train job's ``promotion`` asset and the evaluate-one-version job (which the model-version
sensor starts and ``alphaforge promote`` runs) both end in :func:`promote_version`; a version
registered outside the train job gets its out-of-sample window from :func:`lineage_window`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from mlflow import MlflowClient

from marketdata.store import MarketStore
from ml.errors import NotEnoughDataError
from ml.registry import PromotionGate, promote


@dataclass(frozen=True)
class OosWindow:
    """The out-of-sample window a version is judged on: symbols, first bar, last day."""

    symbols: list[str]
    start: pd.Timestamp
    end: dt.date


@dataclass(frozen=True)
class PromotionDecision:
    """What the gate said about one version, and whether it became @champion."""

    version: str
    promoted: bool
    failures: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def gate_failures(self) -> str:
        """The failures on one line, or 'none'."""
        return "; ".join(self.failures) or "none"


def numeric_metrics(metrics: Mapping[str, object]) -> dict[str, float]:
    """The numeric figures of ``metrics`` (labels such as the family are left out)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def promote_version(client: MlflowClient, name: str, version: str, metrics: Mapping[str, object],
                    gate: PromotionGate) -> PromotionDecision:
    """Record the gate's figures on ``version``; move @champion to it only when the gate holds."""
    numeric = numeric_metrics(metrics)
    promoted = promote(client, name, str(version), numeric, gate)
    return PromotionDecision(str(version), promoted, gate.failures(numeric), numeric)


def lineage_window(client: MlflowClient, name: str, version: str, store: MarketStore,
                   default_symbols: list[str], oos_start: str = "") -> OosWindow:
    """The window to judge ``version`` on, from its run's lineage tags.

    Symbols: the run's ``lineage.symbols`` (else ``default_symbols``); start: ``oos_start``,
    else ``lineage.test_start``, else the last stored day; end: ``lineage.end``, else the last
    stored day. Raises :class:`NotEnoughDataError` when no bars are stored for the symbols.
    """
    mv = client.get_model_version(name, version)
    tags = client.get_run(mv.run_id).data.tags if mv.run_id else {}
    symbols = [s for s in tags.get("lineage.symbols", "").split(",") if s] or default_symbols
    days = sorted({d for s in symbols for d in store.days("bars", s)})
    if not days:
        raise NotEnoughDataError(f"no bars stored for {symbols}: nothing to evaluate version {version} on")
    end = pd.Timestamp(tags.get("lineage.end") or days[-1])
    start = pd.Timestamp(oos_start or tags.get("lineage.test_start") or days[-1], tz="UTC")
    return OosWindow(symbols, start, end.date())
