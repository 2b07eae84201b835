"""One feature implementation: batch and incremental agree, and the future never leaks in."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from marketdata.bars import ticks_to_bars
from marketdata.bi5 import decode_ticks
from marketdata.instruments import get_instrument
from ml.features import DEFAULT_FEATURE_SET, compute_features
from ml.incremental import IncrementalFeatures


@pytest.fixture(scope="module")
def fixture_bars(fixtures_dir) -> pd.DataFrame:
    """Real EURUSD 1-minute bars of 2019-02-04 hours 00-05, from the .bi5 fixtures."""
    scale = get_instrument("EURUSD").price_scale
    frames = []
    for hour in range(6):
        raw = (fixtures_dir / f"EURUSD/2019/01/04/{hour:02d}h_ticks.bi5").read_bytes()
        start = int(dt.datetime(2019, 2, 4, hour, tzinfo=dt.UTC).timestamp() * 1000)
        frames.append(decode_ticks(raw, start, scale))
    return ticks_to_bars(pd.concat(frames, ignore_index=True))


def test_incremental_equals_batch_on_fixture_data(fixture_bars):
    fs = DEFAULT_FEATURE_SET
    batch = compute_features(fixture_bars, fs)
    inc = IncrementalFeatures(fs)
    compared = 0
    for i, bar in enumerate(fixture_bars.to_dict("records")):
        row = inc.update(bar)
        if row is None:
            assert batch.loc[i, fs.columns].isna().any()
            continue
        np.testing.assert_allclose([row[c] for c in fs.columns], batch.loc[i, fs.columns].to_numpy(float),
                                   rtol=0, atol=1e-9)
        compared += 1
    assert compared == len(fixture_bars) - fs.lookback + 1


def test_changing_future_bars_changes_no_feature(fixture_bars):
    cut = 200
    before = compute_features(fixture_bars, DEFAULT_FEATURE_SET)
    tampered = fixture_bars.copy()
    price_cols = [c for c in tampered.columns if c.startswith(("bid_", "ask_"))]
    tampered.loc[cut:, price_cols] *= 1.05
    tampered.loc[cut:, "spread_mean"] *= 3
    after = compute_features(tampered, DEFAULT_FEATURE_SET)
    pd.testing.assert_frame_equal(before.iloc[:cut], after.iloc[:cut])
    assert not before.iloc[cut:].equals(after.iloc[cut:])  # the tampering itself is visible
