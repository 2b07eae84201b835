"""Signals: closed bars -> the shared incremental features -> the model -> the latest signal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.features import IncrementalFeatures
from ml.models import signal_from_prob
from realtime.errors import SignalNotReadyError, SymbolNotServedError
from realtime.model import LoadedModel


@dataclass(frozen=True)
class Signal:
    """The model's view after one closed bar."""

    symbol: str
    signal: int
    prob_up: float
    features_ts: dt.datetime
    model_version: str
    features: dict[str, float]


class SignalEngine:
    """Keeps per-symbol feature state and the latest signal for each served symbol."""

    def __init__(self, loaded: LoadedModel, symbols: Iterable[str]):
        self.loaded = loaded
        self._state = {s: IncrementalFeatures() for s in symbols}
        self._latest: dict[str, Signal] = {}

    def on_bar(self, symbol: str, bar: Mapping[str, object]) -> Signal | None:
        """Feed one closed bar; return the new signal once features are complete."""
        state = self._state.get(symbol)
        if state is None:
            raise SymbolNotServedError(f"{symbol} is not served here")
        feats = state.update(bar)
        if feats is None:
            return None
        model = self.loaded.model
        prob = model.predict_row(np.array([feats[c] for c in model.columns]))
        sig = Signal(symbol, int(signal_from_prob(np.array([prob]), model.threshold)[0]), prob,
                     pd.Timestamp(bar["ts"]).to_pydatetime(), self.loaded.version, feats)
        self._latest[symbol] = sig
        return sig

    def replay(self, symbol: str, bars: pd.DataFrame) -> int:
        """Warm up on stored bars (oldest first); return how many bars were fed."""
        for bar in bars.to_dict("records"):
            self.on_bar(symbol, bar)
        return len(bars)

    def latest(self, symbol: str) -> Signal:
        """The newest signal, or a clear error when there is none yet."""
        if symbol not in self._state:
            raise SymbolNotServedError(f"{symbol} is not served here")
        try:
            return self._latest[symbol]
        except KeyError:
            raise SignalNotReadyError(f"no signal for {symbol} yet: warming up") from None
