"""Benchmark ``backfill``: every fixture day end to end through Dagster, in ticks/s.

value = ticks/s of ``orchestration.backfill.run_backfill`` of the ``ingest`` job (ticks, 1-minute
bars and features, with their checks) over every day of the real fixtures, downloaded from a
local HTTP mirror of the datafeed into a fresh Parquet lake: ranged runs, one per symbol's
consecutive days, with Dagster's run, event and check bookkeeping on a fresh instance.
baseline = ticks/s of the raw ingestion of the same files in the same process:
``marketdata.ingest.ingest_days`` through ``DukascopyClient`` from the same mirror into a fresh
lake (download, LZMA, decode, Parquet write; no bars, no features, no Dagster).
ratio = value / baseline: the share of raw ingestion speed a backfill keeps (goal >= 0.7).
Each side runs ``REPEAT`` times, interleaved so all see the same machine load; the best counts.

One line per place the runs and events are stored, as that costs more than anything else a
backfill adds: ``backfill`` on PostgreSQL, the production instance (deploy/dagster.yaml; a
throwaway database on $ALPHAFORGE_BENCH_PG, default 127.0.0.1:5432, and without it the line is
not printed and the benchmark exits non-zero); ``backfill_sqlite_instance`` on a fresh SQLite
$DAGSTER_HOME, what ``alphaforge ingest`` and ``make dev`` use by default; and
``backfill_in_memory_instance`` on Dagster's in-memory instance, which stores events for almost
nothing: the floor, not what a user gets. A run stores ~6 events per day (a planned event and a
materialisation per day and asset) and ~40 more (checks, steps). Measured at load 1.2-1.8: ~2.4-2.9 s
on the in-memory instance; on PostgreSQL 5.5-6.0 s with Dagster's defaults, 3.3-3.5 s once runs
held one connection per storage (Dagster opened 3-4 per event) and 3.1-3.3 s with a ranged step's
materialisations written as one batch as well (``assets/instance.py``); 4.3-6 s on SQLite
(Dagster's SQLite storage builds an engine per statement, ~10 ms of CPU an event); against
~1.3-1.6 s of raw ingestion.

Where the backfill's extra time goes on the in-memory instance (28 fixture days, 1.35 M ticks, 2
runs; a shared 2-core machine at load average 4-6, so each figure is give or take a third): the
ticks step takes about the raw ingestion's time plus 0.3-0.8 s (download and LZMA in the prefetch
pool; the day's checks, ~3 ms, and its bars, ~3 ms, run while the next days download, but on a
busy machine they compete with the download threads for the GIL). Dagster's bookkeeping is the
largest fixed part, ~1.0 s: a planned event per day and asset before the run starts and a
materialisation per day and asset after each step, each a few SQL statements on the instance (~4-8
ms at that load; ~1.3 ms at load 1). Then features ~0.55-0.7 s (one read of the run's bars, ~0.1
s; each day computed on the previous stored day's last 104 bars, its longest window, and its own:
~5 ms of CPU, against ~6.5 ms on both whole days; the writes overlap the next day) and bars
~0.2-0.4 s (the bars come from the ticks step in memory, ``assets.handoff``; the writes overlap
the next day). Progress lines are off here (``logging.disable``); with them each day adds one
event per asset.
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
warnings.simplefilter("ignore")  # dagster's beta notice for backfill_policy, at import

import dagster as dg  # noqa: E402
import psycopg2  # noqa: E402

from assets.features import features  # noqa: E402
from assets.market import bars_1m, ticks  # noqa: E402
from assets.resources import MarketDataResource  # noqa: E402
from marketdata.dukascopy import DukascopyClient  # noqa: E402
from marketdata.ingest import ingest_days  # noqa: E402
from marketdata.store import ParquetStore  # noqa: E402
from orchestration.backfill import run_backfill  # noqa: E402
from orchestration.jobs import ingest_job  # noqa: E402
from tests.support.dagster_home import dagster_home  # noqa: E402
from tests.support.mlflow_server import throwaway_database  # noqa: E402
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


# Where a backfill's runs and events are stored: PostgreSQL as in production (deploy/dagster.yaml,
# a throwaway database on this server), SQLite as `alphaforge ingest` and `make dev` use by
# default ($DAGSTER_HOME), and Dagster's in-memory instance (no storage cost: the floor).
PG_ADMIN = os.environ.get("ALPHAFORGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
INSTANCES = {"postgres": "backfill", "sqlite": "backfill_sqlite_instance",
             "in_memory": "backfill_in_memory_instance"}


@contextmanager
def dagster_instance(kind: str, home: Path) -> Iterator[dg.DagsterInstance]:
    """A fresh Dagster instance of ``kind`` (see :data:`INSTANCES`), disposed afterwards."""
    if kind == "in_memory":
        # Disposed here, in this thread: left to the garbage collector, its SQLite connections
        # would be closed from whichever thread collects them, which SQLite refuses (a traceback).
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance
        return
    with ExitStack() as stack:  # the database is dropped after the instance is disposed
        database = stack.enter_context(throwaway_database(PG_ADMIN)) if kind == "postgres" else None
        yield stack.enter_context(dagster_home(home, database))


def dagster_backfill(url: str, days: dict[str, list[dt.date]], kind: str) -> tuple[float, int, int]:
    """(seconds, ticks, runs) of the Dagster backfill of ``days`` into a fresh lake, its runs and
    events on an instance of ``kind``."""
    keys = [f"{d.isoformat()}|{s}" for s, sym_days in days.items() for d in sym_days]
    with tempfile.TemporaryDirectory() as tmp, dagster_instance(kind, Path(tmp) / "home") as instance:
        market = MarketDataResource(dukascopy_url=url, data_dir=tmp, max_workers=WORKERS)
        job = dg.Definitions(assets=[ticks, bars_1m, features], jobs=[ingest_job],
                             resources={"market": market}).resolve_job_def("ingest")
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        t0 = time.perf_counter()
        report = run_backfill(job, keys, instance, run_config=quiet)
        seconds = time.perf_counter() - t0
        assert report.ok and len(report.succeeded) == len(keys), report.failed
        store = ParquetStore(Path(tmp) / "lake")
        n = sum(len(store.read_ticks(s, d[0], d[-1])) for s, d in days.items())
        assert all(store.days("features", s) == d for s, d in days.items())
        return seconds, n, len(instance.get_runs())


def postgres_reachable() -> str | None:
    """Why the PostgreSQL instance cannot be measured, or None when it can."""
    try:
        psycopg2.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL at {PG_ADMIN} (ALPHAFORGE_BENCH_PG): {str(exc).strip()}"
    return None


def main() -> None:
    """Print the benchmark's JSON lines, one per instance kind."""
    if not FIXTURES.is_dir():
        sys.exit(f"bench_backfill: Dukascopy fixtures not found at {FIXTURES} (set ALPHAFORGE_FIXTURES)")
    days = fixture_days(FIXTURES)
    if not days:
        sys.exit(f"bench_backfill: no full fixture day (24 hourly tick files) under {FIXTURES}")
    no_pg = postgres_reachable()
    kinds = [k for k in INSTANCES if not (k == "postgres" and no_pg)]
    logging.disable(logging.INFO)
    raw: list[float] = []
    e2e: dict[str, list[float]] = {k: [] for k in kinds}
    counts: dict[str, tuple[int, int]] = {}
    with serve_directory(FIXTURES) as (url, _hits):
        for _ in range(REPEAT):
            seconds, n_raw = raw_ingest(url, days)
            raw.append(seconds)
            for kind in kinds:
                seconds, n_e2e, runs = dagster_backfill(url, days, kind)
                e2e[kind].append(seconds)
                counts[kind] = n_e2e, runs
                assert n_raw == n_e2e, (kind, n_raw, n_e2e)  # the same ticks on both sides
    baseline = n_raw / min(raw)
    for kind in kinds:
        n_e2e, runs = counts[kind]
        value = n_e2e / min(e2e[kind])
        print(json.dumps({
            "name": INSTANCES[kind], "value": round(value), "unit": "ticks/s", "baseline": round(baseline),
            "ratio": round(value / baseline, 3), "instance": kind, "ticks": n_e2e,
            "days": sum(len(d) for d in days.values()), "symbols": sorted(days), "runs": runs,
            "seconds": round(min(e2e[kind]), 2), "baseline_seconds": round(min(raw), 2),
            "load_avg": round(os.getloadavg()[0], 2),
        }), flush=True)
    if no_pg:
        sys.exit(f"bench_backfill: the production line (backfill, PostgreSQL instance) not measured: {no_pg}")


if __name__ == "__main__":
    main()
