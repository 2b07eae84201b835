"""startup: seconds from launching the service (uvicorn, registered model, warm-up, ledger,
reconciliation) to /ready answering 200; the baseline is the bare ping app's start to /ping."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs


def _time_to(app: str, path: str, env: dict[str, str]) -> float:
    port = rs.free_port()
    proc = rs.start_server(app, port, env)
    try:
        return rs.wait_ready(f"http://127.0.0.1:{port}{path}", timeout=60)
    finally:
        rs.stop(proc)


def main() -> None:
    data_dir = rs.prepare()
    env = rs.app_env(data_dir)
    env["PYTHONPATH"] = f"{rs.REPO}:{rs.REPO / 'benchmarks'}"
    base = _time_to("rt_ping_app:create_app", "/ping", env)
    _time_to("realtime.main:create_app", "/ready", env)  # first start creates the ledger
    t = _time_to("realtime.main:create_app", "/ready", env)
    rs.emit("startup", t, "s", base, higher_is_better=False, target_s=5.0)


if __name__ == "__main__":
    main()
