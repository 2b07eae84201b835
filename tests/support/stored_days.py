"""Fill a store with days of bars and their features, as the bars and features assets would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from marketdata.bars import ticks_to_bars
from marketdata.store import MarketStore
from ml.dataset import features_for_day
from ml.features import DEFAULT_FEATURE_SET
from tests.marketdata.helpers import fixture_day


def store_fixture_days(store: MarketStore, fixtures_dir: Path, symbol: str, days: Iterable[dt.date]) -> None:
    """Bars and default features of the real fixture ``days``, decoded from their .bi5 hours."""
    for day in days:
        store.write_bars(symbol, day, ticks_to_bars(fixture_day(fixtures_dir, symbol, day)))
        store.write_features(symbol, day, features_for_day(store, symbol, day, DEFAULT_FEATURE_SET))


def store_bars_by_day(store: MarketStore, bars: pd.DataFrame, days: Iterable[dt.date],
                      symbol: str = "EURUSD") -> None:
    """``bars`` (a ``ts`` column) split into UTC ``days``, each stored with its default features."""
    for day in days:
        store.write_bars(symbol, day, bars[bars["ts"].dt.date == day].reset_index(drop=True))
        store.write_features(symbol, day, features_for_day(store, symbol, day, DEFAULT_FEATURE_SET))
