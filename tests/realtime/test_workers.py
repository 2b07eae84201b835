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
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
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


def _workers(proc: subprocess.Popen[bytes], n: int) -> list[psutil.Process]:
    """The server's ``n`` worker processes (uvicorn spawns them from the parent)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        kids = [p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        if len(kids) == n:
            return kids
        time.sleep(0.3)
    raise AssertionError(f"expected {n} workers")


def _ok_from_each_worker(port: int, proc: subprocess.Popen[bytes], n: int) -> int:
    """``n`` requests to each worker in turn, the others paused (SIGSTOP) so that only it can
    accept: the kernel may otherwise hand every connection to one worker. The number of 200s.
    A pause stays short: uvicorn's supervisor replaces a worker silent for 5 s."""
    workers = _workers(proc, 2)
    ok = 0
    for serving in workers:
        paused = [w for w in workers if w.pid != serving.pid]
        deadline = time.monotonic() + 120
        while True:  # the serving worker may still be starting: it must answer while alone
            for w in paused:
                w.suspend()
            try:
                with httpx.Client(timeout=1) as http:
                    http.get(f"http://127.0.0.1:{port}/health").raise_for_status()
                    answers = [
                        http.get(f"http://127.0.0.1:{port}/api/v1/account", headers={"X-API-Key": ADMIN_KEY})
                        for _ in range(n)
                    ]
                break
            except httpx.TimeoutException:
                assert time.monotonic() < deadline, "a worker never answered alone"
            finally:
                for w in paused:
                    w.resume()
            time.sleep(1)
        assert all(r.status_code in (200, 429) for r in answers), [r.text for r in answers]
        ok += sum(r.status_code == 200 for r in answers)
    return ok


def test_two_workers_share_one_rate_limit_per_user(ledger_dir, redis_url):
    limits = {"REALTIME_RATE_LIMIT_BURST": "10", "REALTIME_RATE_LIMIT_PER_S": "0.01"}
    shared = {"REALTIME_REDIS_URL": redis_url, "REALTIME_REDIS_PREFIX": f"af-test-{uuid.uuid4().hex}"}
    with _serve(ledger_dir, workers=2, **limits, **shared) as (port, proc):
        assert _ok_from_each_worker(port, proc, 15) == 10
    # The same without Redis: each worker has its own buckets, so each lets its burst through.
    (ledger_dir / "ledger.db").unlink()
    with _serve(ledger_dir, workers=2, **limits) as (port, proc):
        assert _ok_from_each_worker(port, proc, 15) == 20


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
