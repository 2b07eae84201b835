"""Feature storage next to the bars, and the assembly of labelled training frames."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from marketdata.store import ParquetStore, normalise_ts
from ml.features import FeatureSet, compute_features
from ml.labels import forward_return_labels


class FeatureStore(ParquetStore):
    """The Parquet lake, extended with a ``features`` table in the same Hive layout."""

    def write_features(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of feature rows."""
        self._write("features", symbol, day, df)

    def read_features(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Feature rows of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        df = self._read("features", symbol, start, end, "ts")
        if not df.empty:
            df["ts"] = normalise_ts(df["ts"])
        return df


def features_for_day(store: ParquetStore, symbol: str, day: dt.date, fs: FeatureSet) -> pd.DataFrame:
    """Features of ``day``'s bars, warmed up on the previous stored day's tail (no look-ahead)."""
    prior = [d for d in store.days("bars", symbol) if d < day]
    start = prior[-1] if prior else day
    bars = store.read_bars(symbol, start, day)
    feats = compute_features(bars, fs)
    return feats[bars["ts"].dt.date.to_numpy() == day].reset_index(drop=True)


def training_frame(
    store: FeatureStore, symbols: list[str], start: dt.date, end: dt.date, fs: FeatureSet,
    horizon: int, dead_zone: float = 0.0,
) -> pd.DataFrame:
    """Stored features joined with forward-return labels, complete rows only, time-ordered."""
    frames = []
    for symbol in symbols:
        feats = store.read_features(symbol, start, end)
        bars = store.read_bars(symbol, start, end)
        if feats.empty or bars.empty:
            continue
        bars = bars.assign(label=forward_return_labels(bars, horizon, dead_zone).to_numpy())
        merged = feats.merge(bars[["ts", "label"]], on="ts", how="inner")
        merged.insert(0, "symbol", symbol)
        frames.append(merged)
    if not frames:
        return pd.DataFrame(columns=["symbol", "ts", *fs.columns, "label"])
    out = pd.concat(frames, ignore_index=True)
    complete = out[[*fs.columns, "label"]].notna().all(axis=1) & np.isfinite(out[fs.columns]).all(axis=1)
    return out[complete].sort_values(["ts", "symbol"], kind="stable", ignore_index=True)
