"""Signals: closed bars -> the shared incremental features -> the model -> the latest signal."""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.incremental import IncrementalFeatures
from ml.models import signal_from_prob
from realtime.errors import SignalNotReadyError, SymbolNotServedError
from realtime.inference.model import LoadedModel


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

    def __init__(self, loaded: LoadedModel, symbols: Iterable[str], history: int = 1000):
        self.loaded = loaded
        fs = getattr(loaded.model, "feature_set", None)
        self._state = {
            s: IncrementalFeatures(fs) if fs is not None else IncrementalFeatures() for s in symbols
        }
        # Sequence models read the last ``lookback`` feature rows; row models just the newest.
        self._rows: dict[str, deque[np.ndarray]] = {
            s: deque(maxlen=self._lookback(loaded)) for s in self._state
        }
        self._lock = threading.Lock()
        self._latest: dict[str, Signal] = {}
        self._history: dict[str, deque[Signal]] = {s: deque(maxlen=history) for s in self._state}
        self.listeners: list[Callable[[Signal], None]] = []

    @property
    def symbols(self) -> list[str]:
        """Served symbols."""
        return list(self._state)

    @staticmethod
    def _lookback(loaded: LoadedModel) -> int:
        return max(1, int(getattr(loaded.model, "lookback", 1)))

    def warmup_bars(self) -> int:
        """Closed bars needed before the first signal: the features' lookback, then the model's."""
        fs = next(iter(self._state.values())).fs if self._state else None
        return (fs.lookback if fs else 0) + self._lookback(self.loaded) - 1

    def feature_columns(self) -> list[str]:
        """The columns the feature state computes."""
        return next(iter(self._state.values())).fs.columns if self._state else []

    def set_model(self, loaded: LoadedModel) -> None:
        """Serve ``loaded`` from the next bar on; its inputs must be features computed here."""
        with self._lock:
            self.loaded = loaded
            n = self._lookback(loaded)
            self._rows = {s: deque(rows, maxlen=n) for s, rows in self._rows.items()}

    def on_bar(self, symbol: str, bar: Mapping[str, object]) -> Signal | None:
        """Feed one closed bar; return the new signal once features are complete."""
        state = self._state.get(symbol)
        if state is None:
            raise SymbolNotServedError(f"{symbol} is not served here")
        with self._lock:
            feats = state.update(bar)
            if feats is None:
                return None
            loaded = self.loaded
            model = loaded.model
            rows = self._rows[symbol]
            rows.append(np.array([feats[c] for c in model.columns], dtype=np.float64))
            if len(rows) < (rows.maxlen or 1):
                return None
            x = rows[-1] if rows.maxlen == 1 else np.stack(rows)
            prob = float(model.predict_row(x))
            sig = Signal(
                symbol,
                int(signal_from_prob(np.array([prob]), model.threshold)[0]),
                prob,
                pd.Timestamp(bar["ts"]).to_pydatetime(),
                loaded.version,
                feats,
            )
            self._latest[symbol] = sig
            self._history[symbol].append(sig)
        for listener in self.listeners:
            listener(sig)
        return sig

    def history(self, symbol: str, limit: int = 100) -> list[Signal]:
        """The newest ``limit`` signals of ``symbol``, oldest first."""
        if symbol not in self._state:
            raise SymbolNotServedError(f"{symbol} is not served here")
        return list(self._history[symbol])[-limit:]

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
