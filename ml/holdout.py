"""A frozen holdout: the newest days of the training window, never used to train or to select.

With ``holdout_days`` > 0 the train job trains, cross-validates, selects among candidates and
picks its challenger on the days before the holdout; only the chosen challenger is backtested on
the holdout, once, at promotion, and the gate asks its holdout Sharpe to clear
``min_holdout_sharpe``. One test of one candidate: it is not deflated and adds no trial.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from marketdata.store import MarketStore
from ml.errors import MLError, NotEnoughDataError
from ml.evaluation import EvaluationConfig, evaluate_oos
from ml.models import SignalModel

# the holdout figures the gate and the registry show, as holdout_<name>
HOLDOUT_FIGURES = ("sharpe", "max_drawdown", "n_trades", "total_pnl", "psr", "n_bars")


@dataclass(frozen=True)
class Holdout:
    """The frozen days, first and last (inclusive)."""

    start: dt.date
    end: dt.date

    def as_dict(self) -> dict[str, str]:
        """ISO days, for asset outputs and lineage tags."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, str]) -> Holdout:
        """The inverse of :meth:`as_dict`."""
        return cls(dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"]))


def split_holdout(days: Sequence[dt.date], holdout_days: int) -> tuple[dt.date, Holdout | None]:
    """The last day training may use and the holdout (None when ``holdout_days`` is 0), from the
    sorted stored ``days`` of the window. Raises when no day would be left to train on."""
    if holdout_days < 0:
        raise MLError(f"holdout_days must be >= 0, got {holdout_days}")
    if not days:
        raise NotEnoughDataError("no stored days to train on")
    if holdout_days == 0:
        return days[-1], None
    if holdout_days >= len(days):
        raise NotEnoughDataError(f"{len(days)} stored days leave none to train on before a "
                                 f"{holdout_days}-day holdout")
    return days[-holdout_days - 1], Holdout(days[-holdout_days], days[-1])


def holdout_figures(model: SignalModel, store: MarketStore, symbols: list[str], holdout: Holdout,
                    cfg: EvaluationConfig) -> dict[str, float]:
    """Backtest ``model`` on the holdout days, as the out-of-sample evaluation does; returns the
    figures as ``holdout_<name>`` (the look-ahead check already ran on the test window)."""
    start = pd.Timestamp(holdout.start, tz="UTC")
    metrics, _ = evaluate_oos(model, store, symbols, start, holdout.end, replace(cfg, lookahead_check=False))
    return {f"holdout_{k}": float(metrics[k]) for k in HOLDOUT_FIGURES if k in metrics}
