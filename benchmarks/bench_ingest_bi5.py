"""Benchmark ``ingest_bi5``: a month of local GBPJPY .bi5 files into the ParquetStore, in ticks/s.

value = ticks/s of ``marketdata.ingest.ingest_days`` from ``LocalDatafeed`` (read, LZMA,
validate, numpy decode, Parquet write of every day, empty days included) into a fresh store.
baseline = ticks/s of a single-thread ``lzma.decompress`` of the same 624 files already in
memory (no read, no decode, no store). ratio = value / baseline (>= 1 means the whole pipeline
keeps up with one core's bare decompression). Best of a few runs each, interleaved, so both
see the same machine load. A second line reports the peak RSS of a month's ingestion, run in
a fresh subprocess. Fixtures: $ALPHAFORGE_FIXTURES or ../shared/data/dukascopy.

What bounds the ratio: the pipeline's CPU is ~1.6x the baseline's (the same LZMA work, plus
~0.10 s of Parquet encoding and ~0.05 s of numpy decode, validation, file reads and bookkeeping
per million ticks), so it can only beat one core's bare decompression by spreading across
cores: about 1.0-1.1 with two idle cores, ~0.6 when another process holds one of them.
"""

from __future__ import annotations

import datetime as dt
import json
import lzma
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from marketdata.datafeed import day_hours, hour_path  # noqa: E402
from marketdata.ingest import ingest_days  # noqa: E402
from marketdata.local import LocalDatafeed  # noqa: E402
from marketdata.store import ParquetStore  # noqa: E402

FIXTURES = Path(
    os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy")
)
SYMBOL = "GBPJPY"
DAYS = [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(26)]
WORKERS = max(2, os.cpu_count() or 2)
REPEAT = 5


def baseline_seconds(raws: list[bytes]) -> float:
    t0 = time.perf_counter()
    for raw in raws:
        if raw:
            lzma.decompress(raw)
    return time.perf_counter() - t0


def ours_seconds(feed: LocalDatafeed) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = ingest_days(feed, ParquetStore(tmp), SYMBOL, DAYS, max_workers=WORKERS)
        seconds = time.perf_counter() - t0
    assert report.ok and len(report.written) == len(DAYS), report.failed
    return seconds, report.ticks


def peak_rss_mb() -> float:
    """Peak RSS of a fresh interpreter that ingests the month (see tests/marketdata)."""
    code = (
        "import datetime as dt, resource, sys, tempfile;"
        f"sys.path.insert(0, {str(REPO)!r});"
        "from marketdata.ingest import ingest_days; from marketdata.local import LocalDatafeed;"
        "from marketdata.store import ParquetStore;"
        "days = [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(26)];"
        "tmp = tempfile.mkdtemp();"
        f"r = ingest_days(LocalDatafeed({str(FIXTURES)!r}), ParquetStore(tmp), 'GBPJPY', days);"
        "assert r.ok; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    feed = LocalDatafeed(FIXTURES)
    raws = [(FIXTURES / hour_path(SYMBOL, h)).read_bytes() for d in DAYS for h in day_hours(d)]
    ours_best, base_best, ticks = float("inf"), float("inf"), 0
    ours_seconds(feed)  # warm the page cache and imports
    for _ in range(REPEAT):
        base_best = min(base_best, baseline_seconds(raws))
        seconds, ticks = ours_seconds(feed)
        ours_best = min(ours_best, seconds)
    value, baseline = ticks / ours_best, ticks / base_best
    print(json.dumps({
        "name": "ingest_bi5", "value": round(value), "unit": "ticks/s (ratio = ours / baseline)",
        "baseline": round(baseline), "ratio": round(value / baseline, 2),
        "ticks": ticks, "files": len(raws), "workers": WORKERS,
    }))
    rss = peak_rss_mb()
    print(json.dumps({
        "name": "ingest_bi5_peak_rss", "value": round(rss, 1), "unit": "MB peak RSS, one month",
        "baseline": 1024, "ratio": round(1024 / rss, 2),
    }))


if __name__ == "__main__":
    main()
