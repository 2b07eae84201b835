"""tick_to_signal: milliseconds from publishing the tick that closes a bar to its signal on the
WebSocket, through the real service (NATS feed in, rolling bars, incremental features, the
registered champion, the hub, /ws/signals out), uvicorn with 1 worker.

One tick per minute of market time, each sent only after the previous signal arrived, so every
sample is one bar close's latency, not a queue. value = p99 (ms); baseline = p99 of the transport
alone in the same run: a NATS round trip to our own subscription plus a WebSocket ping/pong with
the same server, per sample. ratio = baseline / value (1 would mean the service adds nothing).
Needs NATS on 127.0.0.1:4222.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs

SAMPLES, WARMUP = 600, 50
BASE_MS = 1_709_769_600_000  # 2024-03-07, after the stored days: bars roll forward
GOAL_P99_MS = 2.0


def _q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def measure(ws_url: str, prefix: str) -> tuple[list[float], list[float]]:
    """(tick->signal ms, transport ms) per sample."""
    import nats
    import websockets

    nc = await nats.connect("nats://127.0.0.1:4222")
    echo: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_echo(msg) -> None:  # a nats.aio.msg.Msg
        await echo.put(msg.data)

    await nc.subscribe(f"{prefix}.echo", cb=on_echo)
    lat, floor = [], []
    async with websockets.connect(ws_url, max_size=None) as ws:
        for i in range(SAMPLES + WARMUP + 1):
            mid = 1.085 + 0.0004 * ((i * 7919) % 13 - 6)
            tick = {"symbol": "EURUSD", "ts_ms": BASE_MS + i * 60_000, "bid": mid, "ask": mid + 0.0001}
            t0 = time.perf_counter()
            await nc.publish(f"{prefix}.ticks.EURUSD", json.dumps(tick).encode())
            if i == 0:
                continue  # the first tick only opens a bar
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            t1 = time.perf_counter()
            while msg.get("type") != "signal":  # nothing else is expected, but be exact
                msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                t1 = time.perf_counter()
            # the transport alone: NATS to ourselves, then a WebSocket ping to the server
            t2 = time.perf_counter()
            await nc.publish(f"{prefix}.echo", b"x")
            await asyncio.wait_for(echo.get(), 10)
            await asyncio.wait_for(await ws.ping(), 10)
            t4 = time.perf_counter()
            if i > WARMUP:
                lat.append((t1 - t0) * 1e3)
                floor.append((t4 - t2) * 1e3)
    await nc.close()
    return lat, floor


def main() -> None:
    if not rs.port_open(4222):
        rs.refuse("tick_to_signal", "ms", "NATS is not running on 127.0.0.1:4222")
        return
    data_dir = rs.prepare()
    prefix = f"bench_t2s_{int(time.time() * 1000)}"
    env = rs.nats_env(data_dir, prefix)
    with rs.serving("realtime.main:create_app", env, "/ready") as (base, _):
        url = base.replace("http", "ws", 1) + f"/ws/signals?api_key={rs.ADMIN_KEY}"
        lat, floor = asyncio.run(measure(url, prefix))
    p50, p99, f99 = statistics.median(lat), _q(lat, 0.99), _q(floor, 0.99)
    rs.emit(
        "tick_to_signal", p99, "ms (p99)", f99, higher_is_better=False,
        p50_ms=round(p50, 3), p99_ms=round(p99, 3), max_ms=round(max(lat), 3),
        baseline_p50_ms=round(statistics.median(floor), 3), goal_p99_ms=GOAL_P99_MS, samples=len(lat),
        feed="nats",
    )


if __name__ == "__main__":
    main()
