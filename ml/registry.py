"""MLflow registry helpers: aliases, and the promotion gate that alone moves @champion."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"


@dataclass(frozen=True)
class PromotionGate:
    """Out-of-sample thresholds a version must meet to become @champion."""

    min_sharpe: float = 0.5
    max_drawdown: float = 0.10
    min_trades: int = 20
    min_dsr: float = 0.95  # deflated Sharpe: P(true Sharpe > best of n lucky trials)

    def failures(self, metrics: dict[str, float]) -> list[str]:
        """Human-readable reasons the metrics miss the gate; empty when it holds."""
        out = []
        sharpe = metrics.get("sharpe", float("nan"))
        if not (math.isfinite(sharpe) and sharpe >= self.min_sharpe):
            out.append(f"sharpe {sharpe:.3f} < {self.min_sharpe}")
        if not metrics.get("max_drawdown", 1.0) <= self.max_drawdown:
            out.append(f"max_drawdown {metrics.get('max_drawdown'):.4f} > {self.max_drawdown}")
        dsr = metrics.get("dsr", float("nan"))
        if not (math.isfinite(dsr) and dsr >= self.min_dsr):
            out.append(f"deflated sharpe {dsr:.3f} < {self.min_dsr}")
        if metrics.get("n_trades", 0) < self.min_trades:
            out.append(f"n_trades {metrics.get('n_trades', 0):.0f} < {self.min_trades}")
        return out


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version an alias points at, or None."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def promote(client: MlflowClient, name: str, version: str, metrics: dict[str, float],
            gate: PromotionGate) -> bool:
    """Record the gate figures on ``version``; move @champion to it only if the gate holds.

    The champion it replaces stays reachable as @previous for rollback.
    """
    failures = gate.failures(metrics)
    for key, value in metrics.items():
        client.set_model_version_tag(name, version, f"oos.{key}", f"{value:.6g}")
    client.set_model_version_tag(name, version, "gate.passed", str(not failures).lower())
    client.set_model_version_tag(name, version, "gate.failures", "; ".join(failures) or "none")
    if failures:
        log.warning("%s v%s stays challenger: %s", name, version, "; ".join(failures))
        return False
    current = alias_version(client, name, CHAMPION)
    if current and current != version:
        client.set_registered_model_alias(name, PREVIOUS, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    log.info("%s v%s is now @champion", name, version)
    return True
