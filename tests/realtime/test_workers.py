"""The service as deployed, in its own process(es): ``python -m realtime.serving``.

Two workers against one Redis share one rate limit per user; 500 idle WebSockets cost a
bounded amount of the server's memory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import free_port
from tests.realtime.conftest import ADMIN_KEY, JWT_SECRET

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def _serve(data_dir: Path, workers: int = 1, **env: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    full = {
        **os.environ,
        "REALTIME_API_KEY": ADMIN_KEY,
        "REALTIME_JWT_SECRET": JWT_SECRET,
        "REALTIME_DATA_DIR": str(data_dir),
        "REALTIME_MLFLOW_TRACKING_URI": f"sqlite:///{data_dir / 'mlflow.db'}",
        "REALTIME_LEDGER_URL": f"sqlite:///{data_dir / 'ledger.db'}",
        "REALTIME_SYMBOLS": '["EURUSD"]',
        "REALTIME_LOG_LEVEL": "WARNING",
        **env,
    }
    cmd = [sys.executable, "-m", "realtime.serving", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise AssertionError("the server did not start")
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ok_over_fresh_connections(port: int, n: int) -> int:
    """``n`` requests, each on a new connection, eight at a time: one after another, a single
    worker may accept them all, while concurrent ones reach both. The number of 200s."""

    def one(_: int) -> bool:
        with httpx.Client(timeout=30) as http:
            r = http.get(f"http://127.0.0.1:{port}/api/v1/account", headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code in (200, 429), r.text
        return r.status_code == 200

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(one, range(n)))


def test_two_workers_share_one_rate_limit_per_user(ledger_dir, redis_url):
    limits = {"REALTIME_RATE_LIMIT_BURST": "10", "REALTIME_RATE_LIMIT_PER_S": "0.01"}
    shared = {"REALTIME_REDIS_URL": redis_url, "REALTIME_REDIS_PREFIX": f"af-test-{uuid.uuid4().hex}"}
    with _serve(ledger_dir, workers=2, **limits, **shared) as (port, _):
        assert _ok_over_fresh_connections(port, 40) == 10
    # The same without Redis: each worker has its own buckets, so more get through.
    (ledger_dir / "ledger.db").unlink()
    with _serve(ledger_dir, workers=2, **limits) as (port, _):
        assert _ok_over_fresh_connections(port, 40) > 10


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_held_by_500_idle_websockets(ledger_dir):
    n = 500
    caps = {"REALTIME_WS_MAX_PER_KEY": str(n), "REALTIME_WS_MAX_TOTAL": str(n)}
    with _serve(ledger_dir, **caps) as (port, proc):
        url = f"ws://127.0.0.1:{port}/ws/signals?api_key={ADMIN_KEY}"

        async def hold() -> tuple[int, int]:
            before = _rss_kb(proc.pid)
            socks = [await ws_connect(url, open_timeout=30) for _ in range(n)]
            await asyncio.sleep(1.0)
            after = _rss_kb(proc.pid)
            extra = await ws_connect(url, open_timeout=30)  # one more is refused: the server is full
            with pytest.raises(ConnectionClosed) as refused:
                await extra.recv()
            assert refused.value.rcvd is not None and refused.value.rcvd.code == 1013
            for s in socks:
                await s.close()
            return before, after

        before, after = asyncio.run(hold())
    per_socket_kb = (after - before) / n
    print(f"\n500 idle WebSockets: server RSS {before} kB -> {after} kB, {per_socket_kb:.1f} kB each")
    assert per_socket_kb < 200  # generous: a queue, a task pair and the protocol's buffers
