"""Feature 2 (realtime): a short, input-grounded rationale for one model signal.

The ranking of features is computed here, deterministically, from the model's own inputs; the
LLM only turns that ranking and the probabilities into two or three sentences. So the
``top_features`` and ``probabilities`` in the answer are facts, and only ``rationale`` is text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ml.llm.errors import PromptInputError
from ml.llm.router import LLMRouter
from ml.llm.tables import fmt, markdown_table

EXPLAIN_SYSTEM_PROMPT = (
    "You explain a trading model's signal to a trader in at most three sentences. Refer only "
    "to the probabilities and features given, by name; do not predict prices or give advice."
)
_DIRECTIONS = {"long", "short", "flat"}


def _number(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PromptInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise PromptInputError(f"{name} must be finite, got {value!r}")
    return out


def _probabilities(signal: Mapping[str, Any]) -> dict[str, float]:
    if "probabilities" in signal:
        probs = {str(k): _number(f"probabilities[{k}]", v)
                 for k, v in dict(signal["probabilities"]).items()}
    elif "probability" in signal:
        p = _number("probability", signal["probability"])
        probs = {"up": p, "down": 1.0 - p}
    else:
        raise PromptInputError("signal needs 'probabilities' ({class: p}) or 'probability'")
    if not probs or any(not 0.0 <= p <= 1.0 for p in probs.values()):
        raise PromptInputError(f"probabilities must lie in [0, 1], got {probs}")
    return probs


def rank_features(signal: Mapping[str, Any], features: Mapping[str, Any],
                  top_k: int = 5) -> list[dict[str, Any]]:
    """Top ``top_k`` features by |contribution| when the signal carries ``contributions``
    (e.g. coefficient x input, SHAP), else by |z| (``{"value", "z"}`` entries, or the value
    itself for standardised inputs). Ties break by name, so the order is reproducible."""
    if top_k < 1:
        raise PromptInputError(f"top_k must be >= 1, got {top_k}")
    if not features:
        raise PromptInputError("features is empty: nothing to explain the signal with")
    contributions = signal.get("contributions") or {}
    rows = []
    for name, raw in features.items():
        entry = dict(raw) if isinstance(raw, Mapping) else {"value": raw}
        value = _number(f"features[{name}]", entry.get("value"))
        z = _number(f"features[{name}].z", entry["z"]) if "z" in entry else value
        row: dict[str, Any] = {"name": str(name), "value": value, "z": z}
        if contributions:
            row["contribution"] = _number(f"contributions[{name}]", contributions.get(name, 0.0))
            row["basis"], row["score"] = "contribution", abs(row["contribution"])
        else:
            row["basis"], row["score"] = "z", abs(z)
        rows.append(row)
    rows.sort(key=lambda r: (-r["score"], r["name"]))
    return rows[:top_k]


def explain_signal(router: LLMRouter, symbol: str, signal: Mapping[str, Any],
                   features: Mapping[str, Any], top_k: int = 5,
                   user: str | None = None) -> dict[str, Any]:
    """Explain ``signal`` for ``symbol`` from the model's inputs; returns a JSON-ready dict.

    ``signal``: ``{"direction": "long"|"short"|"flat", "probabilities": {class: p}`` (or
    ``"probability"``: P(up)), optional ``"contributions": {feature: c}``, ``"model"``,
    ``"bar_time"``}. ``features``: ``{name: value}`` or ``{name: {"value": v, "z": z}}``.
    Returns ``symbol, direction, probabilities, confidence, top_features, rationale,
    provider, model, cached, tokens``.

    Raises :class:`PromptInputError` (bad input, before any call), :class:`LLMUnavailable`,
    :class:`BudgetExceeded`.

    The realtime route ``POST /api/v1/signals/{symbol}/explain`` (added in ``realtime/``) must:
    authenticate the API key; apply the per-key rate limit (429 with ``Retry-After`` when
    exceeded); load the latest signal and feature row that the live pipeline produced for
    ``symbol`` (404 for an unknown symbol or when no signal exists yet); call this function with
    ``user=<key id>`` so budgets are per key, in a worker thread (the router blocks); map
    ``LLMUnavailable`` to 503 with ``{"detail": "LLM explanations are unavailable: <message>"}``,
    ``BudgetExceeded`` to 429 with its message, ``PromptInputError`` to 422; and never touch
    trading state, so orders and signals work the same with no provider up.
    """
    if not symbol or not symbol.strip():
        raise PromptInputError("symbol must be non-empty")
    direction = str(signal.get("direction", signal.get("side", ""))).lower()
    if direction not in _DIRECTIONS:
        raise PromptInputError(f"signal direction must be one of {sorted(_DIRECTIONS)}, "
                               f"got {direction!r}")
    probs = _probabilities(signal)
    top = rank_features(signal, features, top_k)
    table = markdown_table([{k: r[k] for k in ("name", "value", "z", "contribution") if k in r}
                            for r in top])
    prompt = (
        f"Symbol: {symbol}. Model: {signal.get('model', 'signal model')}. "
        f"Bar: {signal.get('bar_time', 'latest')}.\n"
        f"Signal: {direction}. Class probabilities: "
        + ", ".join(f"{k}={fmt(v)}" for k, v in probs.items())
        + f".\nTop {len(top)} inputs ranked by |{top[0]['basis']}|:\n\n{table}\n\n"
        "Explain why the model gives this signal."
    )
    response = router.complete(prompt, system=EXPLAIN_SYSTEM_PROMPT, user=user, max_tokens=200)
    return {
        "symbol": symbol,
        "direction": direction,
        "probabilities": probs,
        "confidence": max(probs.values()),
        "top_features": top,
        "rationale": response.text.strip(),
        "provider": response.provider,
        "model": response.model,
        "cached": response.cached,
        "tokens": response.total_tokens,
    }
