"""MLflow registry helpers: aliases, the one model loader, and the promotion gate that alone
moves @champion."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml.errors import ModelLoadError, ModelNotFoundError
from ml.models import SignalModel

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


@dataclass(frozen=True)
class RegisteredModel:
    """A registered version loaded as a SignalModel, and the local copy of its artifact."""

    model: SignalModel
    name: str
    version: str
    path: Path


def load_registered(tracking_uri: str, name: str, *, version: str | int | None = None,
                    alias: str | None = None) -> RegisteredModel:
    """Load ``models:/name/version`` (or ``models:/name@alias``) as a SignalModel.

    Raises :class:`ModelNotFoundError` when the registry has no such version or alias, and
    :class:`ModelLoadError` when its artifact does not load as an alphaforge SignalModel (the
    message reads after the model's URI: "could not be loaded: ...").
    """
    if (version is None) == (alias is None):
        raise ValueError("pass exactly one of version and alias")
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        if alias is not None:
            version = client.get_model_version_by_alias(name, alias).version
        else:
            client.get_model_version(name, str(version))
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}",
                                                         tracking_uri=tracking_uri))
        # MLflow's own requirements check maps every installed distribution to its modules
        # (~2 s); callers that care check the model's requirements.txt themselves.
        model = mlflow.pyfunc.load_model(str(local), suppress_warnings=True).unwrap_python_model()
    except MlflowException as exc:
        raise ModelNotFoundError(exc.message) from exc
    except Exception as exc:
        # A corrupt or incompatible artifact fails in unpickling or importing, not in MLflow:
        # UnpicklingError, EOFError, ModuleNotFoundError, AttributeError... all mean the same.
        raise ModelLoadError(f"could not be loaded: {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, SignalModel):
        raise ModelLoadError("is not an alphaforge SignalModel")
    return RegisteredModel(model, name, str(version), local)


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
