"""A model family declared in one place is trained, registered, loaded and served.

The family below lives in this test module and is registered from here: no other file names it.
The train job's asset for it, the logged model's requirements, the registered version and the
served prediction all follow from that one declaration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import numpy as np
import pytest

from assets.models import GPU_TAGS, signal_model_asset, training_set
from assets.resources import MarketDataResource, MLflowResource
from marketdata.store import ParquetStore
from ml.errors import MLError
from ml.families import Family, default_families, family_names, make_classifier, register_family
from ml.features import DEFAULT_FEATURE_SET
from ml.registry import load_registered
from tests.support.stored_days import store_fixture_days

DAYS = [dt.date(2019, 2, 4), dt.date(2019, 2, 5)]


class NearestMeanClassifier:
    """P(up) from the distance to each class's mean row, on standardised features."""

    lookback = 1

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature

    def fit(self, X, y, X_val=None, y_val=None, groups=None, groups_val=None, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        keep = np.isfinite(y)
        X, y = np.asarray(X, dtype=np.float64)[keep], y[keep]
        self.mean_, self.std_ = X.mean(axis=0), np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        Z = (X - self.mean_) / self.std_
        self.up_, self.down_ = Z[y == 1].mean(axis=0), Z[y == 0].mean(axis=0)
        return self

    def predict_proba(self, X, groups=None) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) / self.std_
        closer_up = ((Z - self.down_) ** 2).sum(axis=1) - ((Z - self.up_) ** 2).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-closer_up / self.temperature))

    def predict_one(self, x: np.ndarray) -> float:
        return float(self.predict_proba(np.asarray(x).reshape(1, -1))[0])

    def preprocessing(self) -> dict[str, Any]:
        return {"kind": "standard", "mean": self.mean_.tolist(), "std": self.std_.tolist()}


NEAREST_MEAN = register_family(Family("nearest_mean", NearestMeanClassifier, ("scipy>=1.0",),
                                      kind="numpy", gpu=True, default=False))


@pytest.fixture(scope="module")
def data_dir(fixtures_dir, tmp_path_factory):
    """A data dir whose lake holds the features of the two EURUSD fixture days."""
    root = tmp_path_factory.mktemp("family")
    store = ParquetStore(root / "lake")
    store_fixture_days(store, fixtures_dir, "EURUSD", DAYS)
    return root


def test_the_registry_refuses_a_second_declaration_under_a_taken_name():
    assert register_family(NEAREST_MEAN) is NEAREST_MEAN  # the same one again is harmless
    with pytest.raises(MLError, match="already registered"):
        register_family(Family("nearest_mean", NearestMeanClassifier, kind="sklearn"))
    with pytest.raises(MLError, match="letters, digits"):
        register_family(Family("near mean", NearestMeanClassifier))
    with pytest.raises(MLError, match=r"unknown model family 'svm'.*nearest_mean"):
        make_classifier("svm")
    assert "nearest_mean" in family_names() and "nearest_mean" not in default_families()


def test_a_family_registered_here_trains_registers_and_serves(data_dir):
    asset = signal_model_asset("nearest_mean")
    assert set(asset.op.tags) == set(GPU_TAGS)  # a gpu family asks for a GPU node
    assert "numpy" in next(iter(asset.specs)).kinds
    uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    resources = {"market": MarketDataResource(data_dir=str(data_dir)),
                 "mlflow_server": MLflowResource(tracking_uri=uri, registered_model="registry-test")}
    config = {"ops": {"training_set": {"config": {"symbols": "EURUSD"}}}}
    result = dg.materialize([training_set, asset], resources=resources, run_config=config)
    assert result.success
    trained = result.output_for_node("signal_model_nearest_mean")
    assert trained.family == "nearest_mean" and trained.symbols == ("EURUSD",)

    served = load_registered(uri, "registry-test", version=trained.version)
    assert isinstance(served.model.classifier, NearestMeanClassifier)
    assert served.model.family == "nearest_mean"
    requirements = (served.path / "requirements.txt").read_text()
    assert "scipy>=1.0" in requirements and "scikit-learn==" in requirements
    rows = ParquetStore(data_dir / "lake").read_features("EURUSD", DAYS[1], DAYS[1])
    X = rows[DEFAULT_FEATURE_SET.columns].dropna().tail(50)
    batch = served.model.predict(None, X)["prob_up"].to_numpy()
    assert 0.0 < batch.min() < batch.max() < 1.0  # a fitted model, not a constant
    np.testing.assert_allclose([served.model.predict_row(x) for x in X.to_numpy(np.float64)], batch,
                               atol=1e-12)
