"""A frozen holdout: the newest days stay out of the training window, and only the chosen model
is backtested on them; on three days of synthetic 1-minute bars."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import dagster as dg
import pytest

from assets.models import training_set
from assets.resources import MarketDataResource
from ml.errors import MLError, NotEnoughDataError
from ml.evaluation import EvaluationConfig
from ml.features import DEFAULT_FEATURE_SET
from ml.holdout import HOLDOUT_FIGURES, Holdout, holdout_figures, split_holdout
from ml.models import SignalModel
from ml.registry import PromotionGate
from ml.training import TrainConfig, fit_classifier
from tests.ml.backtest.helpers import random_bars
from tests.support.stored_days import store_bars_by_day

DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)]


@pytest.fixture
def market(tmp_path):
    market = MarketDataResource(source="synthetic", data_dir=str(tmp_path / "data"))
    store = market.store()
    bars = random_bars(3 * 1440, seed=44, freq="1min", start=DAYS[0].isoformat(), vol=2e-4)
    store_bars_by_day(store, bars, DAYS)
    return market


def test_split_holdout_keeps_the_newest_days_and_refuses_an_empty_training_window():
    assert split_holdout(DAYS, 0) == (DAYS[-1], None)
    assert split_holdout(DAYS, 1) == (DAYS[1], Holdout(DAYS[2], DAYS[2]))
    assert split_holdout(DAYS, 2) == (DAYS[0], Holdout(DAYS[1], DAYS[2]))
    assert Holdout.from_dict(Holdout(DAYS[1], DAYS[2]).as_dict()) == Holdout(DAYS[1], DAYS[2])
    with pytest.raises(NotEnoughDataError, match="leave none to train on"):
        split_holdout(DAYS, 3)
    with pytest.raises(MLError, match=">= 0"):
        split_holdout(DAYS, -1)


def test_training_set_never_holds_a_holdout_row_and_the_chosen_model_is_judged_on_it(market):
    result = dg.materialize([training_set], resources={"market": market}, run_config={"ops": {
        "training_set": {"config": {"symbols": "EURUSD", "holdout_days": 1}}}})
    assert result.success
    out = result.output_for_node("training_set")
    assert out.end == DAYS[1] and out.holdout == Holdout(DAYS[2], DAYS[2])
    assert out.lineage()["holdout_start"] == DAYS[2].isoformat()
    frame = out.frame(market.store())
    assert frame["ts"].max().date() == DAYS[1]  # not one row of the frozen day
    # the model trained on that window, backtested on the frozen day as the evaluation does
    cfg = TrainConfig(horizon=15)
    model = SignalModel(fit_classifier(frame, DEFAULT_FEATURE_SET, cfg), DEFAULT_FEATURE_SET, "logreg",
                        cfg.threshold)
    figures = holdout_figures(model, market.store(), ["EURUSD"], out.holdout, EvaluationConfig())
    assert set(figures) == {f"holdout_{k}" for k in HOLDOUT_FIGURES}
    assert figures["holdout_n_bars"] == pytest.approx(1440, abs=2)  # the frozen day's bars, no more
    assert math.isfinite(figures["holdout_sharpe"])
    # the gate judges the holdout figure against its own threshold
    gate = PromotionGate(min_holdout_sharpe=figures["holdout_sharpe"] + 0.1)
    assert any(f.startswith("holdout sharpe") for f in gate.failures(figures))
    assert PromotionGate().thresholds()["min_holdout_sharpe"] == 0.0


def test_no_holdout_by_default(market):
    result = dg.materialize([training_set], resources={"market": market}, run_config={"ops": {
        "training_set": {"config": {"symbols": "EURUSD"}}}})
    out = result.output_for_node("training_set")
    assert out.holdout is None and out.end == DAYS[2]
    assert not any(k.startswith("holdout") for k in out.lineage())
    with pytest.raises(ValueError, match="must follow"):  # a holdout inside the window is refused
        replace(out, holdout=Holdout(DAYS[1], DAYS[2]))
