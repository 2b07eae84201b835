"""What the daily market brief is written from: the day's bars, features, the champion's
signals and its out-of-sample figures, all read from the store and the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from marketdata.store import MarketStore
from ml.errors import NotEnoughDataError
from ml.features import mid_close
from ml.models import SignalModel, signal_from_prob

BRIEF_FEATURES = ["ret_60", "vol_30", "rsi_14", "macd", "zscore_60", "spread_bps"]


def collect_brief_inputs(store: MarketStore, symbols: list[str], day: dt.date,
                         model: SignalModel | None, figures: dict[str, Any] | None) -> dict[str, Any]:
    """Four tables keyed by symbol; symbols with no bars that day are left out.

    Raises NotEnoughDataError when none of ``symbols`` has bars on ``day``.
    """
    bars_summary, features_summary, signals = {}, {}, []
    for symbol in symbols:
        bars = store.read_bars(symbol, day, day)
        if bars.empty:
            continue
        mid = mid_close(bars)
        bars_summary[symbol] = {"open": float(mid.iloc[0]), "high": float(mid.max()),
                                "low": float(mid.min()), "close": float(mid.iloc[-1]),
                                "change_pct": float((mid.iloc[-1] / mid.iloc[0] - 1) * 100),
                                "minutes": len(bars), "mean_spread": float(bars["spread_mean"].mean())}
        feats = store.read_features(symbol, day, day)
        last = feats.dropna().tail(1)
        if last.empty:
            continue
        features_summary[symbol] = {c: float(last[c].iloc[0]) for c in BRIEF_FEATURES if c in last}
        if model is not None:
            prob = float(model.predict(None, last.assign(symbol=symbol))["prob_up"].iloc[0])
            signals.append({"symbol": symbol, "prob_up": round(prob, 4),
                            "signal": int(signal_from_prob(np.array([prob]), model.threshold)[0]),
                            "as_of": pd.Timestamp(last["ts"].iloc[0]).isoformat()})
    if not bars_summary:
        raise NotEnoughDataError(f"no bars stored on {day} for {', '.join(symbols)}")
    return {"bars_summary": bars_summary, "features_summary": features_summary, "signals": signals,
            "backtest_figures": figures or {}}
