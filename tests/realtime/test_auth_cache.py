"""API keys are verified (scrypt) once, even when many requests bring a new key at the same time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from realtime.access.auth import Authenticator
from realtime.ledger import Ledger


def test_a_burst_of_requests_with_a_new_key_verifies_it_once(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    key = ledger.accounts.add_api_key(ledger.accounts.ensure_user("alice", "trader"))
    auth = Authenticator(ledger, jwt_secret=None)
    verify, calls = ledger.accounts.principal_for_key, []

    def counting(k):
        calls.append(k)
        return verify(k)

    ledger.accounts.principal_for_key = counting  # the real verification, counted
    with ThreadPoolExecutor(8) as pool:
        who = list(pool.map(auth.from_key, [key] * 16))
    assert all(p is not None and p.name == "alice" for p in who)
    assert len(calls) == 1
    assert auth.from_key(key[:-1] + ("a" if key[-1] != "a" else "b")) is None  # a wrong key still fails
    assert len(calls) == 2
    ledger.close()
