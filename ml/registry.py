"""MLflow registry helpers: aliases, the one model loader, and the promotion gate that alone
moves @champion."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml.errors import ModelLoadError, ModelNotFoundError
from ml.gate_figures import ANNUALISATION
from ml.models import SignalModel

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER, PREVIOUS, PAPER = "champion", "challenger", "previous", "paper"


@dataclass(frozen=True)
class PromotionGate:
    """Out-of-sample thresholds a version must meet to become @champion.

    The defaults are set for 1-minute data, where an annualised Sharpe multiplies the per-bar
    one by ~600 and a few days of noise clear any fixed Sharpe bar: the statistical criteria
    decide. ``min_dsr`` is the deflated Sharpe over every trial in the model's ledger;
    ``min_psr`` the probabilistic Sharpe against zero; with ``require_track_record`` the window
    must hold at least the minimum track-record length (MinTRL) of bars; with
    ``require_lookahead_check`` the candidate's signals must not change when recomputed on
    truncated histories. When the figures carry a ``pbo`` (the train job's combinatorial purged
    CV over families and hyperparameters), it may not exceed ``max_pbo``; when they carry a
    ``holdout_sharpe`` (a frozen holdout, see :mod:`ml.holdout`), it must reach
    ``min_holdout_sharpe``. With ``paper_days`` > 0 a version that holds the gate becomes @paper,
    not @champion: it trades on paper for that many days first (:mod:`ml.paper_period`).
    """

    min_sharpe: float = 1.0
    max_drawdown: float = 0.10
    min_trades: int = 30
    min_dsr: float = 0.95  # deflated Sharpe: P(true Sharpe > best of n lucky trials)
    min_psr: float = 0.95
    require_track_record: bool = True
    require_lookahead_check: bool = True
    max_pbo: float = 0.5  # probability of backtest overfitting of the candidate choice
    min_holdout_sharpe: float = 0.0  # annualised, on the frozen holdout
    paper_days: float = 0.0  # > 0: a paper-trading period before @champion

    def thresholds(self) -> dict[str, float]:
        """The thresholds, as recorded next to each verdict."""
        return {k: float(v) for k, v in asdict(self).items()}

    def failures(self, metrics: dict[str, float]) -> list[str]:
        """Human-readable reasons the metrics miss the gate; empty when it holds."""
        out = []
        sharpe = metrics.get("sharpe", float("nan"))
        if not (math.isfinite(sharpe) and sharpe >= self.min_sharpe):
            out.append(f"sharpe {sharpe:.3f} < {self.min_sharpe}")
        if not metrics.get("max_drawdown", 1.0) <= self.max_drawdown:
            out.append(f"max_drawdown {metrics.get('max_drawdown', math.nan):.4f} > {self.max_drawdown}")
        dsr = metrics.get("dsr", float("nan"))
        if not (math.isfinite(dsr) and dsr >= self.min_dsr):
            out.append(f"deflated sharpe {dsr:.3f} < {self.min_dsr} "
                       f"(over {metrics.get('n_trials', float('nan')):.0f} trials)")
        psr = metrics.get("psr", float("nan"))
        if self.min_psr > 0 and not (math.isfinite(psr) and psr >= self.min_psr):
            out.append(f"probabilistic sharpe {psr:.3f} < {self.min_psr}")
        if metrics.get("n_trades", 0) < self.min_trades:
            out.append(f"n_trades {metrics.get('n_trades', 0):.0f} < {self.min_trades}")
        if self.require_track_record:
            bars, trl = metrics.get("n_bars", 0.0), metrics.get("min_trl", math.inf)
            if not bars >= trl:
                out.append(f"track record {bars:.0f} bars < minimum {trl:.0f}")
        pbo = metrics.get("pbo")
        if pbo is not None and not pbo <= self.max_pbo:  # only judged when CPCV computed it
            out.append(f"pbo {pbo:.3f} > {self.max_pbo} (probability the chosen candidate is overfit)")
        holdout = metrics.get("holdout_sharpe")
        if holdout is not None and not (math.isfinite(holdout) and holdout >= self.min_holdout_sharpe):
            out.append(f"holdout sharpe {holdout:.3f} < {self.min_holdout_sharpe} (the frozen days)")
        if self.require_lookahead_check:
            changed = metrics.get("lookahead_changes", math.nan)
            if changed != 0:
                out.append("look-ahead check not run" if changed != changed
                           else f"look-ahead: {changed:.0f} past signals change on truncated histories")
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

    The champion it replaces stays reachable as @previous for rollback. With ``gate.paper_days``
    the version becomes @paper instead, and False is returned: @champion waits for its paper
    period's verdict (:func:`ml.paper_period.conclude`).
    """
    failures = gate.failures(metrics)
    for key, value in metrics.items():
        client.set_model_version_tag(name, version, f"oos.{key}", f"{value:.6g}")
    for key, value in gate.thresholds().items():
        client.set_model_version_tag(name, version, f"gate.threshold.{key}", f"{value:g}")
    client.set_model_version_tag(name, version, "oos.annualisation", ANNUALISATION)
    client.set_model_version_tag(name, version, "gate.passed", str(not failures).lower())
    client.set_model_version_tag(name, version, "gate.failures", "; ".join(failures) or "none")
    if failures:
        log.warning("%s v%s stays challenger: %s", name, version, "; ".join(failures))
        return False
    if gate.paper_days > 0:
        start_paper_period(client, name, version, gate.paper_days)
        return False
    make_champion(client, name, version)
    return True


def start_paper_period(client: MlflowClient, name: str, version: str, days: float) -> None:
    """Point @paper at ``version`` from now for ``days`` days (tags ``paper.since``, ``paper.days``)."""
    client.set_model_version_tag(name, version, "paper.since", dt.datetime.now(dt.UTC).isoformat())
    client.set_model_version_tag(name, version, "paper.days", f"{days:g}")
    client.set_registered_model_alias(name, PAPER, version)
    log.info("%s v%s is now @paper for %g days before it may become @champion", name, version, days)


def make_champion(client: MlflowClient, name: str, version: str) -> None:
    """Move @champion to ``version``; the one it replaces becomes @previous."""
    current = alias_version(client, name, CHAMPION)
    if current and current != version:
        client.set_registered_model_alias(name, PREVIOUS, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    log.info("%s v%s is now @champion", name, version)
