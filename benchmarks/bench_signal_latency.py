"""signal_latency: GET /api/v1/signals/EURUSD (real champion model, auth, rate limit, metrics)
against a bare FastAPI ping, both on uvicorn with 1 worker, load from a separate process."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs

SECONDS, CONC = 8.0, 16


def main() -> None:
    data_dir = rs.prepare()
    results = {}
    for name, app, path, headers in (
        ("ping", "rt_ping_app:create_app", "/ping", {}),
        ("signal", "realtime.main:create_app", "/api/v1/signals/EURUSD", {"X-API-Key": rs.ADMIN_KEY}),
    ):
        port = rs.free_port()
        env = rs.app_env(data_dir)
        env["PYTHONPATH"] = f"{rs.REPO}:{rs.REPO / 'benchmarks'}"
        proc = rs.start_server(app, port, env)
        try:
            rs.wait_ready(f"http://127.0.0.1:{port}{'/ping' if name == 'ping' else '/ready'}")
            rs.load(f"http://127.0.0.1:{port}{path}", 1.0, CONC, headers=headers)  # warm-up
            results[name] = rs.load(f"http://127.0.0.1:{port}{path}", SECONDS, CONC, headers=headers)
        finally:
            rs.stop(proc)
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
