"""signal_latency: GET /api/v1/signals/EURUSD (real champion model, auth, rate limit, metrics)
against a bare FastAPI ping, both on uvicorn with 1 worker, load from a separate process."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs

SECONDS, CONC, ROUNDS = 4.0, 16, 3


def main() -> None:
    """Both servers run side by side; rounds alternate between them and the median round of each
    counts, so a burst of load elsewhere on the machine hits both sides alike."""
    try:
        rs.ensure_wrk()
    except rs.LoadgenMissing as e:
        rs.refuse("signal_latency", "req/s", str(e))
        return
    data_dir = rs.prepare()
    env = rs.app_env(data_dir)
    targets = (
        ("ping", "rt_ping_app:create_app", "/ping", "/ping", {}),
        ("signal", "realtime.main:create_app", "/api/v1/signals/EURUSD", "/ready",
         {"X-API-Key": rs.ADMIN_KEY}),
    )
    urls = {}
    with ExitStack() as servers:
        for name, app, path, ready, headers in targets:
            base, _ = servers.enter_context(rs.serving(app, env, ready))
            urls[name] = (base + path, headers)
            rs.load(urls[name][0], 1.0, CONC, headers=headers)  # warm-up
        rounds: dict[str, list[dict]] = {"ping": [], "signal": []}
        for _ in range(ROUNDS):
            for name, (url, headers) in urls.items():
                rounds[name].append(rs.load(url, SECONDS, CONC, headers=headers))
    results = {name: sorted(rs_, key=lambda r: r["rps"])[len(rs_) // 2] for name, rs_ in rounds.items()}
    sig, ping = results["signal"], results["ping"]
    rs.emit(
        "signal_latency",
        sig["rps"],
        "req/s",
        ping["rps"],
        p99_ms=round(sig["p99_ms"], 2),
        baseline_p99_ms=round(ping["p99_ms"], 2),
        p99_ratio=round(sig["p99_ms"] / ping["p99_ms"], 2),
        loadgen=sig["tool"],
        errors=sig["errors"],
    )


if __name__ == "__main__":
    main()
