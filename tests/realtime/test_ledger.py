"""The ledger on SQLite (WAL) and PostgreSQL: idempotent orders, races, hashed keys, fills, audit."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from realtime.ledger import Ledger
from realtime.ledger import tables as t
from realtime.ledger.keys import key_id_of

NOW = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)


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


def _from_sources(led: Ledger, symbol: str, day: dt.date) -> tuple[float, float, float]:
    """The risk totals recomputed the slow way, straight from positions and fills."""
    open_ = led.positions()
    net = sum(p.volume if p.side == "buy" else -p.volume for p in open_ if p.symbol == symbol)
    gross = sum(p.volume for p in open_)
    with led.engine.connect() as c:
        fills = c.execute(sa.select(t.fills.c.ts, t.fills.c.realized_pnl, t.fills.c.commission)).all()
    pnl = sum((r or 0.0) - fee for ts, r, fee in fills if ts.date() == day)
    return net, gross, pnl


def _user_from_sources(led: Ledger, uid: int, symbol: str) -> tuple[float, float]:
    """A user's lots recomputed from the open positions its orders opened."""
    mine = [p for p in led.positions() if led.get_order(p.order_id).user_id == uid]
    net = sum(p.volume if p.side == "buy" else -p.volume for p in mine if p.symbol == symbol)
    return net, sum(p.volume for p in mine)


def test_running_risk_totals_equal_the_positions_and_fills(ledger):
    """Opens, partial and full closes (one by another user), a second day and a reconcile close
    all move the desk's and each user's totals exactly as recomputing them from the source rows
    would; a rebuild agrees too."""
    uid = ledger.accounts.ensure_user("alice", "trader")
    bob = ledger.accounts.ensure_user("bob", "trader")
    book = []
    for i, (sym, side, vol) in enumerate(
        [("EURUSD", "buy", 0.5), ("EURUSD", "sell", 0.2), ("USDJPY", "buy", 1.0), ("EURUSD", "buy", 0.3)]
    ):
        o, _ = _order(ledger, uid, f"o{i}", symbol=sym, side=side, volume=vol)
        book.append(ledger.trades.record_fill(o, 1.1 if sym == "EURUSD" else 150.0, vol, 1.0, NOW))
    theirs, _ = _order(ledger, bob, "b0", side="sell", volume=0.4)
    ledger.trades.record_fill(theirs, 1.1, 0.4, 1.0, NOW)
    part, _ = _order(ledger, bob, "part", side="sell", volume=0.2, position_id=book[0])  # alice's
    ledger.trades.record_fill(part, 1.1010, 0.2, 0.5, NOW)
    full, _ = _order(ledger, uid, "full", side="buy", volume=0.2, position_id=book[1])
    later = NOW + dt.timedelta(days=1)
    ledger.trades.record_fill(full, 1.0990, 0.2, 0.5, later)
    ledger.trades.close_missing(book[2], "test")
    ledger.trades.close_missing(book[2], "twice changes nothing")
    for day in (NOW.date(), later.date()):
        for sym in ("EURUSD", "USDJPY"):
            assert ledger.risk_totals(sym, day) == pytest.approx(_from_sources(ledger, sym, day))
    for user in (uid, bob):
        for sym in ("EURUSD", "USDJPY"):
            assert ledger.user_exposure(user, sym) == pytest.approx(_user_from_sources(ledger, user, sym))
    assert ledger.risk_totals("EURUSD", NOW.date()) == pytest.approx((0.2, 1.0, 20.0 - 5.5))
    assert ledger.user_exposure(uid, "EURUSD") == pytest.approx((0.6, 0.6))
    assert ledger.user_exposure(bob, "EURUSD") == pytest.approx((-0.4, 0.4))
    assert ledger.trades.daily_pnl(later.date()) == pytest.approx(20.0 - 0.5)
    def every_total() -> list[float]:
        days = (NOW.date(), later.date())
        desk = [x for s in ("EURUSD", "USDJPY") for d in days for x in ledger.risk_totals(s, d)]
        users = [x for u in (uid, bob) for s in ("EURUSD", "USDJPY") for x in ledger.user_exposure(u, s)]
        return desk + users

    before = every_total()
    ledger.rebuild_totals()
    after = every_total()
    assert after == pytest.approx(before)


def test_a_ledger_without_totals_rebuilds_them_on_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    led = Ledger(url)
    uid = led.accounts.ensure_user("alice", "trader")
    o, _ = _order(led, uid, "o1", volume=0.4)
    led.trades.record_fill(o, 1.1, 0.4, 2.0, NOW)
    with led.begin() as c:  # as a ledger from before the totals existed would look
        c.execute(t.exposure.delete())
        c.execute(t.daily_pnl.delete())
    assert led.risk_totals("EURUSD", NOW.date()) == (0.0, 0.0, 0.0)
    led.close()
    reopened = Ledger(url)
    assert reopened.risk_totals("EURUSD", NOW.date()) == pytest.approx((0.4, 0.4, -2.0))
    reopened.close()


def test_a_unit_of_work_commits_all_or_nothing(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'u.db'}")
    uid = led.accounts.ensure_user("alice", "trader")
    with pytest.raises(RuntimeError, match="crash"), led.unit_of_work():
        o, _ = _order(led, uid, "u1")
        led.trades.record_fill(o, 1.1, 0.1, 1.0, NOW)
        raise RuntimeError("crash between the fill and the commit")
    assert led.list_orders(uid) == [] and led.positions() == []
    assert led.risk_totals("EURUSD", NOW.date()) == (0.0, 0.0, 0.0)
    with led.unit_of_work():
        o, _ = _order(led, uid, "u1")
        led.trades.record_fill(o, 1.1, 0.1, 1.0, NOW)
        assert _order(led, uid, "u1")[1] is False  # a duplicate inside the unit finds the first
    assert [x.status for x in led.list_orders(uid)] == ["filled"] and len(led.positions()) == 1
    led.close()


def test_pre_trade_totals_are_the_risk_totals_and_the_users_exposure_in_one_read(ledger):
    """The order path's single statement returns what the two separate reads return, a user's
    working order (other than the one being checked) included, on both backends."""
    alice = ledger.accounts.ensure_user("alice", "trader")
    bob = ledger.accounts.ensure_user("bob", "trader")
    fills = [(alice, "buy", 0.5, "EURUSD"), (bob, "sell", 0.2, "EURUSD"), (alice, "sell", 0.1, "EURUSD"),
             (alice, "sell", 0.4, "GBPUSD")]  # another symbol: in alice's gross lots, not her net
    for i, (uid, side, vol, symbol) in enumerate(fills):
        o, _ = _order(ledger, uid, f"o{i}", side=side, volume=vol, symbol=symbol)
        ledger.trades.record_fill(o, 1.1, vol, 1.0, NOW)
    _order(ledger, alice, "working", side="buy", volume=0.7)
    checked, _ = _order(ledger, alice, "checked", side="buy", volume=0.3)
    for uid in (alice, bob):
        totals, mine = ledger.pre_trade_totals("EURUSD", NOW.date(), uid, checked.id)
        assert totals == pytest.approx(ledger.risk_totals("EURUSD", NOW.date(), checked.id))
        assert mine == pytest.approx(ledger.user_exposure(uid, "EURUSD", checked.id))
    assert ledger.pre_trade_totals("EURUSD", NOW.date(), alice, checked.id)[1] == pytest.approx(
        (0.5 - 0.1 + 0.7, 0.5 + 0.1 + 0.4 + 0.7))


def test_workers_starting_together_store_the_bootstrap_key_once(postgres_dsn, pg_schema):
    """Each worker (or replica) installs ``REALTIME_API_KEY`` at start-up: on a fresh ledger they
    race between looking the key up and inserting it, and the loser must not fail to start.
    PostgreSQL only: SQLite's single writer serialises the two, so there the race cannot occur."""
    ledger = Ledger(postgres_dsn, schema=pg_schema)
    admin = ledger.accounts.ensure_user("admin", "admin")
    for i in range(5):
        key = f"operator-key-{i}-for-the-race"
        gate = threading.Barrier(4)

        def install(_: int, key: str = key, gate: threading.Barrier = gate) -> str:
            gate.wait()
            return ledger.accounts.add_api_key(admin, key)

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(install, range(4))) == [key] * 4
        with ledger.engine.connect() as c:
            rows = c.execute(sa.select(t.api_keys.c.user_id).where(t.api_keys.c.key_id == key_id_of(key)))
            assert [r[0] for r in rows] == [admin]
    ledger.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_workers_creating_a_fresh_ledger_together_all_start(backend, tmp_path, request):
    """Workers open the ledger at once; on a fresh one they race to create its tables."""
    for i in range(3):
        if backend == "sqlite":
            url, schema = f"sqlite:///{tmp_path / f'fresh{i}.db'}", None
        else:
            url = request.getfixturevalue("postgres_dsn")
            schema = f"{request.getfixturevalue('pg_schema')}_{i}"
        gate = threading.Barrier(4)

        def open_ledger(_: int, url: str = url, schema: str | None = schema, gate=gate) -> Ledger:
            gate.wait()
            return Ledger(url, schema=schema)

        with ThreadPoolExecutor(4) as pool:
            ledgers = list(pool.map(open_ledger, range(4)))
        try:
            uid = ledgers[0].accounts.ensure_user("alice", "trader")
            assert all(led.accounts.ensure_user("alice", "trader") == uid for led in ledgers)
        finally:
            for led in ledgers:
                led.close()
            if schema is not None:
                with ledgers[0].engine.begin() as c:
                    c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
