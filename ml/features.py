"""THE feature code: one implementation shared by batch training and realtime serving.

A feature at bar t uses bars up to and including t only (its close). Every feature is a
finite-window statistic computed from scratch per window (exponential averages are truncated
to a fixed number of weights). These are the definitions; :mod:`ml.incremental` keeps the same
windows as running state for realtime serving (O(1) per bar), held equal to this code by tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ml.errors import InvalidBarsError, NotEnoughDataError, UnknownFeatureSetError
from ml.indicators import atr, bollinger_position, fir_ema, rolling, rsi, zscore

PRICE_COLUMNS = ["bid_high", "bid_low", "bid_close", "ask_high", "ask_low", "ask_close", "spread_mean"]


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned, parameterised set of features; models record which one they used."""

    name: str = "core"
    version: int = 2
    return_horizons: tuple[int, ...] = (1, 5, 15, 60)
    vol_window: int = 30
    atr_window: int = 14
    rsi_window: int = 14
    macd: tuple[int, int, int] = (12, 26, 9)
    bb_window: int = 20
    z_window: int = 60
    calendar: bool = True

    @property
    def key(self) -> str:
        """``name@version``, as recorded on models."""
        return f"{self.name}@{self.version}"

    @property
    def columns(self) -> list[str]:
        """Output columns, in model-input order."""
        cols = [f"ret_{h}" for h in self.return_horizons]
        cols += [f"vol_{self.vol_window}", f"atr_{self.atr_window}", f"rsi_{self.rsi_window}"]
        if self.version >= 2:
            cols += ["macd", "macd_signal", f"bb_pos_{self.bb_window}", f"zscore_{self.z_window}",
                     "spread_bps", "spread_max_bps", f"spread_z_{self.z_window}",
                     f"ticks_z_{self.z_window}"]
        else:
            cols += ["spread_bps"]
        if self.calendar:
            cols += ["tod_sin", "tod_cos"] + (["dow_sin", "dow_cos"] if self.version >= 2 else [])
        return cols

    @property
    def lookback(self) -> int:
        """Bars of history needed before the first complete feature row."""
        # Differences need one bar more than their window; the MACD signal line is a window over
        # a window (3*slow bars of EMA weights, then 3*signal bars of MACD values).
        _, slow, sig = self.macd
        needs = [h + 1 for h in self.return_horizons]
        needs += [self.vol_window + 1, self.atr_window + 1, self.rsi_window + 1]
        if self.version >= 2:
            needs += [self.bb_window, self.z_window, 3 * slow + 3 * sig - 1]
        return max(needs)

    def describe(self) -> dict[str, object]:
        """Parameters for logging (MLflow params, Dagster metadata)."""
        d = asdict(self)
        return {"feature_set": self.key, **{f"fs_{k}": str(v) for k, v in d.items()}}


FEATURE_SETS = {fs.key: fs for fs in (
    FeatureSet(name="core", version=1, return_horizons=(1, 5, 15), vol_window=30),
    FeatureSet(),
)}
DEFAULT_FEATURE_SET = FEATURE_SETS["core@2"]


def get_feature_set(key: str) -> FeatureSet:
    """The feature set registered as ``name@version``."""
    try:
        return FEATURE_SETS[key]
    except KeyError:
        raise UnknownFeatureSetError(f"unknown feature set {key!r}; known: {sorted(FEATURE_SETS)}") from None


def mid_close(bars: pd.DataFrame) -> pd.Series:
    """Mid price at each bar's close."""
    return (bars["bid_close"] + bars["ask_close"]) / 2.0


def validate_bars(bars: pd.DataFrame) -> None:
    """Refuse bars that would silently poison features: missing columns, NaN/inf, non-positive prices."""
    missing = [c for c in ["ts", *PRICE_COLUMNS] if c not in bars.columns]
    if missing:
        raise InvalidBarsError(f"bars lack columns {missing}")
    values = bars[PRICE_COLUMNS].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InvalidBarsError(f"NaN or inf in bars at {bars['ts'].iloc[row]} ({int(bad.sum())} values)")
    if (values[:, :6] <= 0).any():
        raise InvalidBarsError("zero or negative prices in bars")


def compute_features(bars: pd.DataFrame, fs: FeatureSet = DEFAULT_FEATURE_SET) -> pd.DataFrame:
    """Features for every bar (batch mode); rows without enough history hold NaN.

    ``bars`` follows ``marketdata.schema.BAR_COLUMNS`` and is sorted by ``ts``. Empty bars give an
    empty frame; a non-empty frame shorter than the feature set's lookback is refused.
    """
    if bars.empty:
        return pd.DataFrame(columns=["ts", *fs.columns])
    validate_bars(bars)
    if len(bars) < fs.lookback:
        raise NotEnoughDataError(f"{len(bars)} bars, but {fs.key} needs {fs.lookback} for its windows")
    mid = mid_close(bars).to_numpy(dtype=np.float64)
    log_mid = np.log(mid)
    high = ((bars["bid_high"] + bars["ask_high"]) / 2.0).to_numpy(dtype=np.float64)
    low = ((bars["bid_low"] + bars["ask_low"]) / 2.0).to_numpy(dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for h in fs.return_horizons:
        out[f"ret_{h}"] = _diff(log_mid, h)
    out[f"vol_{fs.vol_window}"] = rolling(_diff(log_mid, 1), fs.vol_window, np.std)
    out[f"atr_{fs.atr_window}"] = atr(high, low, mid, fs.atr_window) / mid
    out[f"rsi_{fs.rsi_window}"] = rsi(mid, fs.rsi_window)
    spread = bars["spread_mean"].to_numpy(dtype=np.float64)
    out["spread_bps"] = spread / mid * 1e4
    if fs.version >= 2:
        fast, slow, sig = fs.macd
        macd = (fir_ema(mid, fast, 3 * fast) - fir_ema(mid, slow, 3 * slow)) / mid
        out["macd"] = macd
        out["macd_signal"] = fir_ema(macd, sig, 3 * sig)
        out[f"bb_pos_{fs.bb_window}"] = bollinger_position(mid, fs.bb_window)
        out[f"zscore_{fs.z_window}"] = zscore(mid, fs.z_window)
        out["spread_max_bps"] = bars["spread_max"].to_numpy(dtype=np.float64) / mid * 1e4
        out[f"spread_z_{fs.z_window}"] = zscore(spread, fs.z_window)
        out[f"ticks_z_{fs.z_window}"] = zscore(bars["tick_count"].to_numpy(dtype=np.float64), fs.z_window)
    if fs.calendar:
        _calendar(pd.DatetimeIndex(bars["ts"]), fs, out)
    frame = pd.DataFrame(out, columns=fs.columns)
    ts = bars["ts"]
    # A tz-aware column goes in as its datetime array (nanoseconds, as inferring them gave):
    # to_numpy() would box every bar into a Timestamp object, a fifth of this function's time.
    aware = isinstance(ts.dtype, pd.DatetimeTZDtype)
    frame.insert(0, "ts", ts.array.as_unit("ns") if aware else ts.to_numpy())
    return frame


def _diff(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    out[k:] = x[k:] - x[:-k]
    return out


def _calendar(ts: pd.DatetimeIndex, fs: FeatureSet, out: dict[str, np.ndarray]) -> None:
    """Time of day (and day of week) as points on a circle, so 23:59 sits next to 00:00."""
    tod = 2 * np.pi * (ts.hour * 60 + ts.minute).to_numpy(dtype=np.float64) / 1440.0
    out["tod_sin"], out["tod_cos"] = np.sin(tod), np.cos(tod)
    if fs.version >= 2:
        dow = 2 * np.pi * ts.dayofweek.to_numpy(dtype=np.float64) / 7.0
        out["dow_sin"], out["dow_cos"] = np.sin(dow), np.cos(dow)
