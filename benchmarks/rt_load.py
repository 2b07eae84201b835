"""Async httpx load generator (run as its own process): N workers hammer one URL for T seconds.

usage: rt_load.py URL SECONDS CONCURRENCY METHOD HEADERS_JSON (plain|order)
Prints {"requests", "rps", "p50_ms", "p99_ms", "errors"}. In ``order`` mode each request POSTs a
fresh market order (unique client_order_id) for 0.01 lots of EURUSD.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

import httpx


async def main(url: str, seconds: float, conc: int, method: str, headers: dict, mode: str) -> dict:
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10.0) as client:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                body = None
                if mode == "order":
                    body = {
                        "symbol": "EURUSD",
                        "side": "buy",
                        "volume": 0.01,
                        "client_order_id": uuid.uuid4().hex,
                    }
                t0 = time.perf_counter()
                r = await client.request(method, url, json=body)
                lat.append(time.perf_counter() - t0)
                if r.status_code >= 300:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000  # noqa: E731
    return {
        "requests": len(lat),
        "rps": len(lat) / wall,
        "p50_ms": q(0.5),
        "p99_ms": q(0.99),
        "errors": errors,
    }


if __name__ == "__main__":
    u, s, c, m, h, mode = sys.argv[1:7]
    print(json.dumps(asyncio.run(main(u, float(s), int(c), m, json.loads(h), mode))))
