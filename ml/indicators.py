"""Finite-window indicators, each value computed from its own window only (restartable)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rolling(x: np.ndarray, window: int, fn: Callable[..., np.ndarray]) -> np.ndarray:
    """``fn(axis=1)`` over each trailing window; NaN until the first full window.

    Unlike pandas' online rolling sums, the value at t depends only on the window's own
    numbers, so a short realtime buffer reproduces the batch value bit for bit. NaN inside a
    window propagates.
    """
    out = np.full(len(x), np.nan)
    if len(x) >= window:
        out[window - 1:] = fn(np.lib.stride_tricks.sliding_window_view(x, window), axis=1)
    return out


def fir_ema(x: np.ndarray, span: int, length: int) -> np.ndarray:
    """An exponential moving average truncated to its last ``length`` weights, renormalised."""
    alpha = 2.0 / (span + 1.0)
    weights = (1.0 - alpha) ** np.arange(length)[::-1]
    weights /= weights.sum()
    return rolling(x, length, lambda w, axis: w @ weights)


def zscore(x: np.ndarray, window: int) -> np.ndarray:
    """(x - mean) / std over the trailing window; 0 where the window is flat."""
    mean, std = rolling(x, window, np.mean), rolling(x, window, np.std)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(std > 0, (x - mean) / std, 0.0)
    return np.where(np.isnan(std), np.nan, z)


def bollinger_position(x: np.ndarray, window: int, width: float = 2.0) -> np.ndarray:
    """Where x sits in its Bollinger band: -1 at the lower band, +1 at the upper."""
    return zscore(x, window) / width


def rsi(x: np.ndarray, window: int) -> np.ndarray:
    """Cutler's RSI (simple means of gains and losses)."""
    delta = np.diff(x, prepend=np.nan)
    gain = rolling(np.where(delta > 0, delta, 0.0), window, np.mean)
    loss = rolling(np.where(delta < 0, -delta, 0.0), window, np.mean)
    gain[:window] = np.nan  # the first delta is undefined: the first full window ends at t=window
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isnan(total), np.nan, np.where(total > 0, 100.0 * gain / total, 50.0))


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """Average true range as a simple mean of true ranges."""
    prev = np.concatenate([[np.nan], close[:-1]])
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev)))
    tr[0] = np.nan
    return rolling(tr, window, np.mean)
