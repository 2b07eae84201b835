"""Realtime features: O(1) work per closed bar and per feature, equal to the batch code.

:func:`ml.features.compute_features` defines every feature over a finite window (rolling means
and standard deviations, exponential averages truncated to a fixed number of weights). Here the
same windows are kept as running state instead of being recomputed from a buffer of bars:

* rolling means and standard deviations: running sums of ``x - anchor`` and their squares over a
  ring of the window's values. The anchor is a recent value, so the sums hold small deviations
  and the variance does not cancel catastrophically; the sums are re-added from the ring (and
  the anchor moved) once per window length, so rounding cannot drift: O(1) amortised per bar;
* truncated EMAs: ``S_t = x_t + r S_(t-1) - r^L x_(t-L)`` with ``r = 1 - alpha`` and the batch
  code's normalisation ``sum(r^i, i < L)``; rounding errors decay by ``r`` each bar;
* a z-score whose window is (nearly) flat is taken from the batch code over that window, as its
  value is then decided by rounding (the batch code gives 0, or +-1 from a mean one ulp off).

The test suite holds this equal to the batch features to 1e-9 on every fixture day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ml.errors import InvalidBarsError
from ml.features import DEFAULT_FEATURE_SET, PRICE_COLUMNS, FeatureSet
from ml.indicators import zscore

# A window whose standard deviation is below this fraction of its mean's size is "flat": the
# batch z-score there is rounding noise, so it is reproduced by running the batch code.
FLAT_REL_STD = 1e-6


class RollingWindow:
    """The last ``n`` values with running sums about an anchor: mean and population variance."""

    __slots__ = ("anchor", "changes", "count", "n", "pos", "ring", "s1", "s2", "since")

    def __init__(self, n: int):
        self.n, self.ring, self.pos, self.count = n, [0.0] * n, 0, 0
        self.anchor = self.s1 = self.s2 = 0.0
        self.since = 0
        self.changes = 0  # neighbours in the window that differ: 0 means exactly flat

    def push(self, x: float) -> None:
        """Add ``x``, dropping the oldest value once the window is full."""
        ring, pos, n = self.ring, self.pos, self.n
        if self.count == 0:
            self.anchor = x
        elif x != ring[pos - 1]:  # pos - 1 is the newest value (index -1 wraps around)
            self.changes += 1
        d = x - self.anchor
        if self.count == n:
            if ring[pos] != ring[(pos + 1) % n]:  # the oldest pair leaves the window
                self.changes -= 1
            old = ring[pos] - self.anchor
            self.s1 += d - old
            self.s2 += d * d - old * old
        else:
            self.count += 1
            self.s1 += d
            self.s2 += d * d
        self.ring[self.pos] = x
        self.pos = (self.pos + 1) % self.n
        self.since += 1
        if self.since >= self.n:
            self._resum(x)

    def _resum(self, anchor: float) -> None:
        vals = self.ring if self.count == self.n else self.ring[: self.count]
        devs = [v - anchor for v in vals]
        self.anchor, self.since = anchor, 0
        self.s1, self.s2 = math.fsum(devs), math.fsum(d * d for d in devs)

    @property
    def full(self) -> bool:
        """True once ``n`` values have been pushed."""
        return self.count == self.n

    def total(self) -> float:
        """Sum of the window (exact for small integers, such as counts)."""
        return self.anchor * self.count + self.s1

    def mean(self) -> float:
        """Mean of the window."""
        return self.anchor + self.s1 / self.count

    def var(self) -> float:
        """Population variance of the window (ddof=0, as ``np.std``)."""
        m = self.s1 / self.count
        return max(self.s2 / self.count - m * m, 0.0)

    def values(self) -> np.ndarray:
        """The window, oldest first."""
        return np.array(self.ring[self.pos :] + self.ring[: self.pos])

    def zscore(self, x: float) -> float:
        """``ml.indicators.zscore`` of ``x``, the newest value, over this full window."""
        if self.changes == 0:
            return _flat_zscore(x, self.n)
        mean, var = self.mean(), self.var()
        if var <= (FLAT_REL_STD * abs(mean)) ** 2:
            return float(zscore(self.values(), self.n)[-1])
        return (x - mean) / math.sqrt(var)


_FLAT: dict[tuple[float, int], float] = {}


def _flat_zscore(x: float, n: int) -> float:
    """The batch z-score of ``n`` equal values ``x`` (0, or +-1 when their mean rounds off x):
    a constant tick count or spread repeats it bar after bar, so it is computed once."""
    z = _FLAT.get((x, n))
    if z is None:
        if len(_FLAT) > 4096:
            _FLAT.clear()
        z = _FLAT[(x, n)] = float(zscore(np.full(n, x), n)[-1])
    return z


class TruncatedEMA:
    """``ml.indicators.fir_ema``: an EMA over the last ``length`` values, weights renormalised."""

    __slots__ = ("count", "length", "norm", "pos", "r", "r_last", "ring", "s")

    def __init__(self, span: int, length: int):
        alpha = 2.0 / (span + 1.0)
        self.r = 1.0 - alpha
        self.r_last = self.r**length
        self.norm = float(((1.0 - alpha) ** np.arange(length)).sum())
        self.length, self.ring, self.pos, self.count, self.s = length, [0.0] * length, 0, 0, 0.0

    def push(self, x: float) -> float:
        """Add ``x``; the average once ``length`` values were seen, else NaN."""
        old = self.ring[self.pos]
        self.s = x + self.r * self.s - (self.r_last * old if self.count == self.length else 0.0)
        self.ring[self.pos] = x
        self.pos = (self.pos + 1) % self.length
        if self.count < self.length:
            self.count += 1
            if self.count < self.length:
                return math.nan
        return self.s / self.norm


class IncrementalFeatures:
    """Feed closed bars one at a time, get the newest feature row of ``fs`` back (or None)."""

    def __init__(self, fs: FeatureSet = DEFAULT_FEATURE_SET):
        self.fs = fs
        self.seen = 0
        self._log_mid = [math.nan] * (max(fs.return_horizons) + 1)  # a ring; _at is the newest
        self._at = 0
        self._prev_mid = math.nan
        self._vol = RollingWindow(fs.vol_window)
        self._tr = RollingWindow(fs.atr_window)
        self._gain, self._loss = RollingWindow(fs.rsi_window), RollingWindow(fs.rsi_window)
        self._moves = RollingWindow(fs.rsi_window)  # 1.0 where a delta in the RSI window is not 0
        fast, slow, sig = fs.macd
        self._ema_fast, self._ema_slow = TruncatedEMA(fast, 3 * fast), TruncatedEMA(slow, 3 * slow)
        self._ema_sig = TruncatedEMA(sig, 3 * sig)
        self._bb = RollingWindow(fs.bb_window)
        self._z_mid, self._z_spread, self._z_ticks = (RollingWindow(fs.z_window) for _ in range(3))

    @property
    def ready(self) -> bool:
        """True once enough bars have been seen to produce features."""
        return self.seen >= self.fs.lookback

    def update(self, bar: Mapping[str, object]) -> dict[str, float] | None:
        """Add a closed bar; return its features, or None while history is too short."""
        fs = self.fs
        bid_high, bid_low, bid_close, ask_high, ask_low, ask_close, spread = _prices(bar)
        if fs.version >= 2:  # read before any state moves: a bar without them changes nothing
            spread_max, ticks = _number(bar, "spread_max"), _number(bar, "tick_count")
        mid = (bid_close + ask_close) / 2.0
        high, low = (bid_high + ask_high) / 2.0, (bid_low + ask_low) / 2.0
        log_mid = math.log(mid)
        out: dict[str, float] = {}
        lm, size = self._log_mid, len(self._log_mid)
        self._at = at = (self._at + 1) % size
        lm[at] = log_mid
        for h in fs.return_horizons:
            out[f"ret_{h}"] = log_mid - lm[(at - h) % size]
        prev = self._prev_mid
        self._prev_mid = mid
        if prev == prev:  # not the first bar: the return, true range and RSI delta exist
            self._vol.push(log_mid - lm[(at - 1) % size])
            self._tr.push(max(high - low, abs(high - prev), abs(low - prev)))
            delta = mid - prev
            self._gain.push(delta if delta > 0 else 0.0)
            self._loss.push(-delta if delta < 0 else 0.0)
            self._moves.push(1.0 if delta != 0 else 0.0)
        out[f"vol_{fs.vol_window}"] = math.sqrt(self._vol.var()) if self._vol.full else math.nan
        out[f"atr_{fs.atr_window}"] = self._tr.mean() / mid if self._tr.full else math.nan
        out[f"rsi_{fs.rsi_window}"] = self._rsi()
        out["spread_bps"] = spread / mid * 1e4
        if fs.version >= 2:
            macd = (self._ema_fast.push(mid) - self._ema_slow.push(mid)) / mid
            out["macd"] = macd
            out["macd_signal"] = self._ema_sig.push(macd) if macd == macd else math.nan
            out[f"bb_pos_{fs.bb_window}"] = _z(self._bb, mid) / 2.0
            out[f"zscore_{fs.z_window}"] = _z(self._z_mid, mid)
            out["spread_max_bps"] = spread_max / mid * 1e4
            out[f"spread_z_{fs.z_window}"] = _z(self._z_spread, spread)
            out[f"ticks_z_{fs.z_window}"] = _z(self._z_ticks, ticks)
        if fs.calendar:
            _calendar(pd.Timestamp(bar["ts"]), fs, out)
        self.seen += 1
        if self.seen < fs.lookback or any(v != v for v in out.values()):
            return None
        return {c: out[c] for c in fs.columns}

    def _rsi(self) -> float:
        if not self._gain.full:
            return math.nan
        if self._moves.total() < 0.5:
            return 50.0  # no move in the window: the batch means are exactly 0
        gain, loss = self._gain.mean(), self._loss.mean()
        total = gain + loss
        return 100.0 * gain / total if total > 0 else 50.0


def _z(window: RollingWindow, x: float) -> float:
    window.push(x)
    return window.zscore(x) if window.full else math.nan


def _number(bar: Mapping[str, object], column: str) -> float:
    try:
        return float(bar[column])  # type: ignore[arg-type]
    except KeyError:
        raise InvalidBarsError(f"bar lacks column {column!r}") from None


def _prices(bar: Mapping[str, object]) -> list[float]:
    """The bar's price columns as floats, refused as the batch code refuses them."""
    try:
        values = [float(bar[c]) for c in PRICE_COLUMNS]  # type: ignore[arg-type]
    except KeyError as exc:
        raise InvalidBarsError(f"bar lacks column {exc.args[0]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidBarsError(f"NaN or inf in the bar at {bar.get('ts')}")
    if min(values[:6]) <= 0:
        raise InvalidBarsError(f"zero or negative prices in the bar at {bar.get('ts')}")
    return values


def _calendar(ts: pd.Timestamp, fs: FeatureSet, out: dict[str, float]) -> None:
    tod = 2 * math.pi * float(ts.hour * 60 + ts.minute) / 1440.0
    out["tod_sin"], out["tod_cos"] = math.sin(tod), math.cos(tod)
    if fs.version >= 2:
        dow = 2 * math.pi * float(ts.dayofweek) / 7.0
        out["dow_sin"], out["dow_cos"] = math.sin(dow), math.cos(dow)
