"""Benchmark: decode one day of real EURUSD ticks (24 .bi5 files) with numpy vs. struct.unpack.

Prints two JSON lines. ``bi5_decode_day_eurusd``: value = ms per day for
``marketdata.bi5.decode_ticks``; baseline = ms for a plain-Python ``struct.iter_unpack`` loop
building the same columns; both include the LZMA decompression they share.
``bi5_records_to_frame_day_eurusd``: the same without LZMA (decompressed bytes to columns).
ratio = baseline / value (how many times faster).
Fixtures: $ALPHAFORGE_FIXTURES or ../shared/data/dukascopy relative to the repo root.
"""

from __future__ import annotations

import datetime as dt
import json
import lzma
import os
import struct
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from marketdata.bi5 import TICK_DTYPE, decode_ticks, ticks_frame  # noqa: E402
from marketdata.datafeed import day_hours, epoch_ms, hour_path  # noqa: E402

FIXTURES = Path(
    os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy")
)
DAY = dt.date(2019, 2, 4)


def struct_decode(raw: bytes, hour_start_ms: int, scale: float) -> dict[str, list[float]]:
    """The baseline: LZMA, then one Python tuple per record."""
    return struct_records(lzma.decompress(raw) if raw else b"", hour_start_ms, scale)


def struct_records(data: bytes, hour_start_ms: int, scale: float) -> dict[str, list[float]]:
    """The baseline without LZMA: decompressed bytes to columns, one tuple per record."""
    cols: dict[str, list[float]] = {
        k: [] for k in ("ts_ms", "bid", "ask", "bid_volume", "ask_volume")
    }
    for ms, ask, bid, ask_vol, bid_vol in struct.iter_unpack(">IIIff", data):
        cols["ts_ms"].append(hour_start_ms + ms)
        cols["bid"].append(bid / scale)
        cols["ask"].append(ask / scale)
        cols["bid_volume"].append(bid_vol)
        cols["ask_volume"].append(ask_vol)
    return cols


def best_ms(fn, files, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for raw, start in files:
            fn(raw, start, 1e5)
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> None:
    files = [
        ((FIXTURES / hour_path("EURUSD", h)).read_bytes(), epoch_ms(h)) for h in day_hours(DAY)
    ]
    n = sum(len(decode_ticks(raw, s, 1e5)) for raw, s in files)
    ours = best_ms(decode_ticks, files, 5)
    base = best_ms(struct_decode, files, 2)
    # the two must agree before their speeds mean anything
    a = decode_ticks(*files[7], 1e5)
    b = struct_decode(*files[7], 1e5)
    assert np.array_equal(a["bid"].to_numpy(), np.array(b["bid"])), "decoders disagree"
    emit("bi5_decode_day_eurusd", ours, base, n)
    plain = [(lzma.decompress(raw) if raw else b"", s) for raw, s in files]
    ours = best_ms(lambda d, s, k: ticks_frame(np.frombuffer(d, TICK_DTYPE), s, k), plain, 5)
    base = best_ms(struct_records, plain, 2)
    emit("bi5_records_to_frame_day_eurusd", ours, base, n)  # the decode step alone, no LZMA


def emit(name: str, ours: float, base: float, n: int) -> None:
    print(
        json.dumps(
            {
                "name": name,
                "value": round(ours, 2),
                "unit": "ms/day",
                "baseline": round(base, 2),
                "ratio": round(base / ours, 2),
                "ticks": n,
            }
        )
    )


if __name__ == "__main__":
    main()
