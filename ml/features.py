"""THE feature code: one implementation shared by batch training and realtime serving.

A feature at bar t uses bars up to and including t only (its close). The incremental mode runs
the very same batch function over a bounded buffer of the most recent bars, so batch and
realtime values agree exactly: every feature is a finite-window statistic, never a recursion
that depends on where the history starts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned, parameterised set of features; models record which one they used."""

    name: str = "core"
    version: int = 1
    return_horizons: tuple[int, ...] = (1, 5, 15)
    vol_window: int = 30
    z_window: int = 30
    rsi_window: int = 14

    @property
    def columns(self) -> list[str]:
        """Output columns, in model-input order."""
        rets = [f"ret_{h}" for h in self.return_horizons]
        return [*rets, f"vol_{self.vol_window}", f"zscore_{self.z_window}",
                f"rsi_{self.rsi_window}", "spread_bps", "hour_sin", "hour_cos"]

    @property
    def lookback(self) -> int:
        """Bars of history needed before the first complete feature row."""
        return max(*self.return_horizons, self.vol_window + 1, self.z_window, self.rsi_window + 1)

    def describe(self) -> dict[str, object]:
        """Parameters for logging (MLflow params, Dagster metadata)."""
        return {"feature_set": self.name, "feature_version": self.version,
                "return_horizons": list(self.return_horizons), "vol_window": self.vol_window,
                "z_window": self.z_window, "rsi_window": self.rsi_window}


DEFAULT_FEATURE_SET = FeatureSet()


def mid_close(bars: pd.DataFrame) -> pd.Series:
    """Mid price at each bar's close."""
    return (bars["bid_close"] + bars["ask_close"]) / 2.0


def compute_features(bars: pd.DataFrame, fs: FeatureSet = DEFAULT_FEATURE_SET) -> pd.DataFrame:
    """Features for every bar (batch mode). Rows without enough history hold NaN.

    ``bars`` follows ``marketdata.schema.BAR_COLUMNS`` and is sorted by ``ts``.
    """
    mid = mid_close(bars).to_numpy(dtype=np.float64)
    log_mid = pd.Series(np.log(mid))
    out: dict[str, np.ndarray] = {}
    for h in fs.return_horizons:
        out[f"ret_{h}"] = log_mid.diff(h).to_numpy()
    r1 = log_mid.diff(1).to_numpy()
    out[f"vol_{fs.vol_window}"] = _rolling(r1, fs.vol_window, np.std)
    std = _rolling(mid, fs.z_window, np.std)
    mean = _rolling(mid, fs.z_window, np.mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(std > 0, (mid - mean) / std, 0.0)
    out[f"zscore_{fs.z_window}"] = np.where(np.isnan(std), np.nan, z)
    out[f"rsi_{fs.rsi_window}"] = _rsi(mid, fs.rsi_window)
    out["spread_bps"] = (bars["spread_mean"].to_numpy(dtype=np.float64) / mid) * 1e4
    ts = pd.DatetimeIndex(bars["ts"])
    minute_of_day = (ts.hour * 60 + ts.minute).to_numpy(dtype=np.float64)
    angle = 2.0 * np.pi * minute_of_day / 1440.0
    out["hour_sin"], out["hour_cos"] = np.sin(angle), np.cos(angle)
    frame = pd.DataFrame(out, columns=fs.columns)
    frame.insert(0, "ts", bars["ts"].to_numpy())
    return frame


def _rolling(x: np.ndarray, window: int, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``fn`` over each trailing window, computed from scratch per window.

    Unlike pandas' online rolling sums, the value at t depends only on the window's own
    numbers, so a short realtime buffer reproduces the batch value bit for bit.
    """
    out = np.full(len(x), np.nan)
    if len(x) >= window:
        out[window - 1:] = fn(np.lib.stride_tricks.sliding_window_view(x, window), axis=1)
    return out


def _rsi(mid: np.ndarray, window: int) -> np.ndarray:
    """Cutler's RSI (simple means of gains and losses): a finite window, so it is restartable."""
    delta = np.diff(mid, prepend=np.nan)
    gain = _rolling(np.where(delta > 0, delta, 0.0), window, np.mean)
    loss = _rolling(np.where(delta < 0, -delta, 0.0), window, np.mean)
    gain[: window] = np.nan  # the first delta is undefined, so the first full window ends at t=window
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isnan(total), np.nan, np.where(total > 0, 100.0 * gain / total, 50.0))


@dataclass
class IncrementalFeatures:
    """Realtime mode: feed closed bars one at a time, get the newest feature row back."""

    fs: FeatureSet = DEFAULT_FEATURE_SET
    _buffer: deque[Mapping[str, object]] = field(default_factory=deque)

    def update(self, bar: Mapping[str, object]) -> dict[str, float] | None:
        """Add a closed bar; return its features, or None while history is too short."""
        self._buffer.append(dict(bar))
        while len(self._buffer) > self.fs.lookback + 1:
            self._buffer.popleft()
        if len(self._buffer) <= self.fs.lookback - 1:
            return None
        row = compute_features(pd.DataFrame(list(self._buffer)), self.fs).iloc[-1]
        values = {c: float(row[c]) for c in self.fs.columns}
        if any(np.isnan(v) for v in values.values()):
            return None
        return values

    @property
    def ready(self) -> bool:
        """True once enough bars have been seen to produce features."""
        return len(self._buffer) >= self.fs.lookback
