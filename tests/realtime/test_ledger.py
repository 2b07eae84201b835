"""The ledger on SQLite (WAL) and PostgreSQL: idempotent orders, races, hashed keys, fills, audit."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from realtime.ledger import Ledger
from realtime.ledger import tables as t

NOW = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield led
        led.close()
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"rt_test_{uuid.uuid4().hex[:10]}"
    led = Ledger(dsn, schema=schema)
    yield led
    led.close()
    eng = sa.create_engine(dsn)
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    eng.dispose()


def _order(led: Ledger, uid: int, cid: str, **kw):
    fields = {"symbol": "EURUSD", "side": "buy", "type": "market", "volume": 0.1} | kw
    return led.create_order(uid, cid, **fields)


def test_sqlite_runs_in_wal_mode(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    with led.engine.connect() as c:
        assert c.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_same_client_order_id_returns_the_first_order(ledger):
    uid = ledger.accounts.ensure_user("alice", "trader")
    first, created = _order(ledger, uid, "c-1")
    again, created_again = _order(ledger, uid, "c-1", volume=5.0)
    assert created and not created_again
    assert again.id == first.id and again.volume == 0.1 and first.status == "pending"
    other = ledger.accounts.ensure_user("bob", "trader")
    assert _order(ledger, other, "c-1")[1]  # client ids are per user


def test_concurrent_duplicates_create_one_order(ledger):
    uid = ledger.accounts.ensure_user("alice", "trader")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _order(ledger, uid, "race-1"), range(16)))
    assert sum(created for _, created in results) == 1
    assert len({o.id for o, _ in results}) == 1
    assert len(ledger.list_orders(uid)) == 1


def test_api_keys_are_stored_hashed_and_verified(ledger):
    uid = ledger.accounts.ensure_user("alice", "viewer")
    key = ledger.accounts.add_api_key(uid)
    with ledger.engine.connect() as c:
        stored = c.execute(sa.select(t.api_keys.c.key_hash)).scalars().all()
    assert stored and all(key not in h and h.startswith("scrypt$") for h in stored)
    who = ledger.accounts.principal_for_key(key)
    assert who is not None and who.name == "alice" and who.role == "viewer"
    assert ledger.accounts.principal_for_key(key[:-2] + "xx") is None
    assert ledger.accounts.revoke_api_key(who.key_id)
    assert ledger.accounts.principal_for_key(key) is None


def test_fills_open_and_close_positions_with_pnl_and_audit(ledger):
    uid = ledger.accounts.ensure_user("alice", "trader")
    buy, _ = _order(ledger, uid, "open-1", volume=0.5)
    pos_id = ledger.trades.record_fill(buy, 1.1000, 0.5, 1.75, NOW, "d1", "p1")
    assert ledger.trades.record_fill(buy, 1.2, 0.5, 1.75, NOW) is None  # idempotent replay
    pos = ledger.get_position(pos_id)
    assert pos.status == "open" and pos.volume == 0.5 and pos.opened_at == NOW
    sell, _ = _order(ledger, uid, "close-1", side="sell", volume=0.5, position_id=pos_id)
    ledger.trades.record_fill(sell, 1.1010, 0.5, 1.75, NOW + dt.timedelta(hours=1))
    closed = ledger.get_position(pos_id)
    assert closed.status == "closed" and closed.realized_pnl == pytest.approx(50.0)  # 10 pips x 0.5 lot
    assert ledger.trades.daily_pnl(NOW.date()) == pytest.approx(50.0 - 3.5)
    assert ledger.get_order(buy.id).status == "filled" and ledger.get_order(buy.id).fill_price == 1.1
    ledger.audit("tester", "note", {"k": 1})
    assert ledger.audit_entries("note")[0]["detail"] == {"k": 1}


def test_naive_datetimes_are_refused(ledger):
    uid = ledger.accounts.ensure_user("alice", "trader")
    order, _ = _order(ledger, uid, "naive")
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        ledger.trades.record_fill(order, 1.1, 0.1, 0.0, dt.datetime(2024, 1, 1))


def test_bad_ledger_url_is_a_clear_error():
    from realtime.errors import LedgerError

    with pytest.raises(LedgerError, match="bad ledger URL"):
        Ledger("not a url")
