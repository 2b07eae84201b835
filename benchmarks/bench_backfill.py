"""Benchmark ``backfill``: every fixture day end to end through Dagster, in ticks/s.

value = ticks/s of ``orchestration.backfill.run_backfill`` of the ``ingest`` job (ticks, 1-minute
bars and features, with their checks) over every day of the real fixtures, downloaded from a
local HTTP mirror of the datafeed into a fresh Parquet lake: ranged runs, one per symbol's
consecutive days, with Dagster's run, event and check bookkeeping on an ephemeral instance.
baseline = ticks/s of the raw ingestion of the same files in the same process:
``marketdata.ingest.ingest_days`` through ``DukascopyClient`` from the same mirror into a fresh
lake (download, LZMA, decode, Parquet write; no bars, no features, no Dagster).
ratio = value / baseline: the share of raw ingestion speed a backfill keeps (goal >= 0.7).
Each side runs ``REPEAT`` times, interleaved so both see the same machine load; the best counts.

Where the backfill's extra time goes (28 fixture days, 1.35 M ticks, 2 runs; a shared 2-core
machine at load average 4-6, so each figure is give or take a third): the ticks step takes about
the raw ingestion's time plus 0.3-0.8 s (download and LZMA in the prefetch pool; the day's checks,
~3 ms, and its bars, ~3 ms, run while the next days download, but on a busy machine they compete
with the download threads for the GIL). Dagster's bookkeeping is the largest fixed part, ~1.0 s:
a planned event per day and asset before the run starts and a materialisation per day and asset
after each step, each a few SQL statements on the instance (~4-8 ms). Then features ~0.55-0.7 s
(one read of the run's bars, ~0.1 s; each day computed on the previous stored day's last 104
bars, its longest window, and its own: ~5 ms of CPU, against ~6.5 ms on both whole days; the
writes overlap the next day) and bars ~0.2-0.4 s (the bars come from the ticks step in memory,
``assets.handoff``; the writes overlap the next day). Progress lines are off here
(``logging.disable``); with them each day adds one event per asset.
Fixtures: $ALPHAFORGE_FIXTURES (default ../shared/data/dukascopy); without them it stops and says so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
warnings.simplefilter("ignore")  # dagster's beta notice for backfill_policy, at import

import dagster as dg  # noqa: E402

from assets.features import features  # noqa: E402
from assets.market import bars_1m, ticks  # noqa: E402
from assets.resources import MarketDataResource  # noqa: E402
from marketdata.dukascopy import DukascopyClient  # noqa: E402
from marketdata.ingest import ingest_days  # noqa: E402
from marketdata.store import ParquetStore  # noqa: E402
from orchestration.backfill import run_backfill  # noqa: E402
from orchestration.jobs import ingest_job  # noqa: E402
from tests.support.static_server import serve_directory  # noqa: E402

FIXTURES = Path(os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy"))
REPEAT = 2
WORKERS = 4  # the client's and the asset's default download threads


def fixture_days(root: Path) -> dict[str, list[dt.date]]:
    """Every (symbol, day) the fixtures hold a full day of hourly tick files for."""
    out: dict[str, list[dt.date]] = {}
    for folder in sorted(root.glob("*/[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]")):
        if len(list(folder.glob("*h_ticks.bi5"))) == 24:
            symbol, year, month0, day = folder.relative_to(root).parts
            out.setdefault(symbol, []).append(dt.date(int(year), int(month0) + 1, int(day)))
    return out


def raw_ingest(url: str, days: dict[str, list[dt.date]]) -> tuple[float, int]:
    """(seconds, ticks) of the raw ingestion of ``days`` into a fresh lake."""
    with tempfile.TemporaryDirectory() as tmp:
        client = DukascopyClient(base_url=url, cache_dir=Path(tmp) / "raw", max_workers=WORKERS)
        store, n = ParquetStore(Path(tmp) / "lake"), 0
        t0 = time.perf_counter()
        for symbol, sym_days in days.items():
            report = ingest_days(client, store, symbol, sym_days, max_workers=WORKERS)
            assert report.ok, report.failed
            n += report.ticks
        return time.perf_counter() - t0, n


def dagster_backfill(url: str, days: dict[str, list[dt.date]]) -> tuple[float, int, int]:
    """(seconds, ticks, runs) of the Dagster backfill of ``days`` into a fresh lake."""
    keys = [f"{d.isoformat()}|{s}" for s, sym_days in days.items() for d in sym_days]
    with tempfile.TemporaryDirectory() as tmp:
        market = MarketDataResource(dukascopy_url=url, data_dir=tmp, max_workers=WORKERS)
        job = dg.Definitions(assets=[ticks, bars_1m, features], jobs=[ingest_job],
                             resources={"market": market}).resolve_job_def("ingest")
        instance = dg.DagsterInstance.ephemeral()
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        t0 = time.perf_counter()
        report = run_backfill(job, keys, instance, run_config=quiet)
        seconds = time.perf_counter() - t0
        assert report.ok and len(report.succeeded) == len(keys), report.failed
        store = ParquetStore(Path(tmp) / "lake")
        n = sum(len(store.read_ticks(s, d[0], d[-1])) for s, d in days.items())
        assert all(store.days("features", s) == d for s, d in days.items())
        return seconds, n, len(instance.get_runs())


def main() -> None:
    """Print the benchmark's JSON line."""
    if not FIXTURES.is_dir():
        sys.exit(f"bench_backfill: Dukascopy fixtures not found at {FIXTURES} (set ALPHAFORGE_FIXTURES)")
    days = fixture_days(FIXTURES)
    if not days:
        sys.exit(f"bench_backfill: no full fixture day (24 hourly tick files) under {FIXTURES}")
    logging.disable(logging.INFO)
    raw: list[float] = []
    e2e: list[float] = []
    with serve_directory(FIXTURES) as (url, _hits):
        for _ in range(REPEAT):
            seconds, n_raw = raw_ingest(url, days)
            raw.append(seconds)
            seconds, n_e2e, runs = dagster_backfill(url, days)
            e2e.append(seconds)
    assert n_raw == n_e2e, (n_raw, n_e2e)  # the same ticks on both sides
    value, baseline = n_e2e / min(e2e), n_raw / min(raw)
    print(json.dumps({
        "name": "backfill", "value": round(value), "unit": "ticks/s", "baseline": round(baseline),
        "ratio": round(value / baseline, 3), "ticks": n_e2e,
        "days": sum(len(d) for d in days.values()), "symbols": sorted(days), "runs": runs,
        "seconds": round(min(e2e), 2), "baseline_seconds": round(min(raw), 2),
        "load_avg": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
