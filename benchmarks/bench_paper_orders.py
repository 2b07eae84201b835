"""paper_orders: orders/s through the whole path (auth, risk, ledger write, paper fill), on SQLite
WAL and, as a second line, on PostgreSQL (when one answers on 127.0.0.1:5432); the baseline is a
bare FastAPI ping served the same way in the same run."""

from __future__ import annotations

import os
import re
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx
import rt_support as rs

SECONDS, CONC = 6.0, 8
# What each request is: the whole path runs (auth, per-key rate limit, every risk check, ledger,
# fill), with limits raised so that one key may send this many (20 requests/s by default).
ORDERS = "new 0.01-lot EURUSD market buy per request, one admin API key, rate and risk limits raised"
PG = os.environ.get("ALPHAFORGE_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _filled(base: str) -> int:
    """Orders the server counted as filled (its /metrics), to check every request was new."""
    text = httpx.get(base + "/metrics", headers={"X-API-Key": rs.ADMIN_KEY}, timeout=10).text
    m = re.search(r'^realtime_orders_total\{status="filled"\} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else 0


def _run(app: str, path: str, env: dict[str, str], order: bool, ready: str) -> dict:
    method, headers = ("POST", {"X-API-Key": rs.ADMIN_KEY}) if order else ("GET", {})
    with rs.serving(app, env, ready) as (base, _):
        # One discarded second first, for both: key verification, statement caches, WAL file.
        warm = rs.load(base + path, 1.0, CONC, method, headers, order)
        result = rs.load(base + path, SECONDS, CONC, method, headers, order)
        if order:
            # Every answered request must have been a new fill (a repeated client_order_id is
            # answered 200 from the ledger, which is cheaper); wrk leaves up to CONC requests
            # per run unanswered when it stops, which the server may still have filled.
            new = _filled(base) - warm["requests"]
            result["new_orders"] = result["requests"] <= new <= result["requests"] + 2 * CONC
        return result


def _emit(name: str, result: dict, ping: dict, ledger: str) -> None:
    rs.emit(name, result["rps"], "orders/s", ping["rps"], ledger=ledger,
            p99_ms=round(result["p99_ms"], 2), errors=result["errors"], loadgen=result["tool"],
            all_new_fills=result["new_orders"], orders=ORDERS)


def main() -> None:
    try:
        rs.ensure_wrk()
    except rs.LoadgenMissing as e:
        rs.refuse("paper_orders", "orders/s", str(e))
        rs.refuse("paper_orders_postgres", "orders/s", str(e))
        return
    env = rs.app_env(rs.prepare())
    ping = _run("rt_ping_app:create_app", "/ping", env, False, "/ping")
    _emit("paper_orders", _run("realtime.main:create_app", "/api/v1/orders", env, True, "/ready"),
          ping, "sqlite-wal")
    if rs.port_open(5432):
        import sqlalchemy as sa

        schema = f"rt_bench_{uuid.uuid4().hex[:8]}"
        pg_env = env | {"REALTIME_LEDGER_URL": PG, "REALTIME_LEDGER_SCHEMA": schema}
        pg = _run("realtime.main:create_app", "/api/v1/orders", pg_env, True, "/ready")
        with sa.create_engine(PG).begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        _emit("paper_orders_postgres", pg, ping, "postgresql")


if __name__ == "__main__":
    main()
