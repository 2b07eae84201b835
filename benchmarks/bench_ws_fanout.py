"""ws_fanout: signals/s delivered to 100 WebSocket clients.

Ticks go in through NATS (one tick per minute, so each closes a bar and yields a signal); 100
clients in a separate process count what /ws/signals pushes. value = messages delivered per
second over all clients; baseline = signals the service produced per second x 100 clients
(perfect fan-out), so ratio is the delivered share. Needs NATS on 127.0.0.1:4222.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs

CLIENTS, TICKS = 100, 600
CLIENT_CODE = r"""
import asyncio, json, sys, time
import websockets
async def main(url, n, expect, limit):
    counts = [0] * n
    ready = asyncio.Event(); connected = [0]
    async def one(i):
        async with websockets.connect(url, max_size=None) as ws:
            connected[0] += 1
            if connected[0] == n: ready.set()
            try:
                while counts[i] < expect:
                    await asyncio.wait_for(ws.recv(), limit); counts[i] += 1
            except asyncio.TimeoutError:
                pass
    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 30); print("READY", flush=True)
    t0 = None
    while t0 is None:
        await asyncio.sleep(0.001)
        if any(counts): t0 = time.perf_counter()
    await asyncio.gather(*tasks)
    idle = limit * (min(counts) < expect)  # the clients that timed out waited ``limit`` for nothing
    print(json.dumps({"delivered": sum(counts), "seconds": time.perf_counter() - t0 - idle}))
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
"""


async def publish(prefix: str, n: int) -> float:
    import nats

    nc = await nats.connect("nats://127.0.0.1:4222")
    t0 = time.perf_counter()
    base = 1_709_769_600_000  # after the stored days, so bars roll forward
    for i in range(n):
        mid = 1.085 + 0.0004 * ((i * 7919) % 13 - 6)
        msg = {"symbol": "EURUSD", "ts_ms": base + i * 60_000, "bid": mid, "ask": mid + 0.0001}
        await nc.publish(f"{prefix}.ticks.EURUSD", json.dumps(msg).encode())
    await nc.flush()
    await nc.close()
    return time.perf_counter() - t0


def main() -> None:
    if not rs.port_open(4222):
        raise SystemExit("ws_fanout needs NATS on 127.0.0.1:4222")
    data_dir = rs.prepare()
    prefix = f"bench{int(time.time())}"
    env = rs.nats_env(data_dir, prefix)
    with rs.serving("realtime.main:create_app", env, "/ready") as (base, _):
        url = base.replace("http", "ws", 1) + f"/ws/signals?api_key={rs.ADMIN_KEY}"
        expect = TICKS - 1  # the last tick leaves its bar open
        clients = subprocess.Popen(
            [rs.PY, "-c", CLIENT_CODE, url, str(CLIENTS), str(expect), "3"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=rs.REPO,
        )
        assert clients.stdout is not None
        assert clients.stdout.readline().strip() == "READY"
        asyncio.run(publish(prefix, TICKS))
        out = json.loads(clients.stdout.readline())
        clients.wait(30)
        produced = rs.httpx.get(f"{base}/metrics").text
        signals = sum(
            float(line.rsplit(" ", 1)[1])
            for line in produced.splitlines()
            if line.startswith("realtime_signals_total{")
        )
    rate = out["delivered"] / out["seconds"]
    ideal = signals / out["seconds"] * CLIENTS
    rs.emit(
        "ws_fanout", rate, "msgs/s", ideal, clients=CLIENTS, signals=int(signals), delivered=out["delivered"]
    )


if __name__ == "__main__":
    main()
