"""paper_orders: orders/s through the whole path (auth, risk, ledger write, paper fill), on SQLite
WAL and, as a second line, on PostgreSQL (when one answers on 127.0.0.1:5432); the baseline is a
bare FastAPI ping served the same way in the same run."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs

SECONDS, CONC = 6.0, 8
PG = os.environ.get("ALPHAFORGE_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _run(app: str, path: str, env: dict[str, str], order: bool, ready: str) -> dict:
    port = rs.free_port()
    proc = rs.start_server(app, port, env)
    try:
        rs.wait_ready(f"http://127.0.0.1:{port}{ready}")
        headers = {"X-API-Key": rs.ADMIN_KEY} if order else {}
        # One discarded second first, for both: key verification, statement caches, WAL file.
        rs.load(f"http://127.0.0.1:{port}{path}", 1.0, CONC, "POST" if order else "GET", headers, order)
        return rs.load(
            f"http://127.0.0.1:{port}{path}", SECONDS, CONC, "POST" if order else "GET", headers, order
        )
    finally:
        rs.stop(proc)


def main() -> None:
    data_dir = rs.prepare()
    env = rs.app_env(data_dir)
    env["PYTHONPATH"] = f"{rs.REPO}:{rs.REPO / 'benchmarks'}"
    ping = _run("rt_ping_app:create_app", "/ping", env, False, "/ping")
    sqlite = _run("realtime.main:create_app", "/api/v1/orders", env, True, "/ready")
    rs.emit(
        "paper_orders",
        sqlite["rps"],
        "orders/s",
        ping["rps"],
        ledger="sqlite-wal",
        p99_ms=round(sqlite["p99_ms"], 2),
        errors=sqlite["errors"],
        loadgen=sqlite["tool"],
    )
    if rs.port_open(5432):
        import sqlalchemy as sa

        schema = f"rt_bench_{uuid.uuid4().hex[:8]}"
        pg = _run(
            "realtime.main:create_app",
            "/api/v1/orders",
            env | {"REALTIME_LEDGER_URL": PG, "REALTIME_LEDGER_SCHEMA": schema},
            True,
            "/ready",
        )
        eng = sa.create_engine(PG)
        with eng.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        rs.emit(
            "paper_orders_postgres",
            pg["rps"],
            "orders/s",
            ping["rps"],
            ledger="postgresql",
            p99_ms=round(pg["p99_ms"], 2),
            errors=pg["errors"],
            loadgen=pg["tool"],
        )


if __name__ == "__main__":
    main()
