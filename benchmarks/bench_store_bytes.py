"""Benchmark ``store_bytes``: bytes per stored row of ticks, 1-minute bars and features.

The real GBPJPY fixture month (26 days) is ingested, turned into bars and features, and written
both to the Parquet lake and to the ClickHouse store (the real engine, in process through
clickhouse-connect's chDB interface, parts merged with OPTIMIZE FINAL). One JSON line per table:
value = ClickHouse bytes per row (compressed, from ``system.parts``); baseline = Parquet bytes
per row (the lake's files on disk); ratio = value / baseline. These are the figures the README's
desk sizing extrapolates from. Fixtures: $ALPHAFORGE_FIXTURES (default ../shared/data/dukascopy).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from marketdata.bars import ticks_to_bars  # noqa: E402
from marketdata.clickhouse_store import ClickHouseStore  # noqa: E402
from marketdata.ingest import ingest_days  # noqa: E402
from marketdata.local import LocalDatafeed  # noqa: E402
from marketdata.store import ParquetStore  # noqa: E402
from ml.dataset import features_for_day  # noqa: E402
from ml.features import DEFAULT_FEATURE_SET  # noqa: E402

FIXTURES = Path(os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy"))
SYMBOL = "GBPJPY"
DAYS = [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(26)]
TABLES = {"ticks": "ticks", "bars": "bars_1m", "features": "features"}


def lake_bytes(root: Path, table: str) -> int:
    """Bytes of the lake's Parquet files of ``table``."""
    return sum(p.stat().st_size for p in (root / table).rglob("*.parquet"))


def main() -> None:
    """Fill both stores from the fixture month; print one JSON line per table."""
    if not FIXTURES.is_dir():
        sys.exit(f"bench_store_bytes: Dukascopy fixtures not found at {FIXTURES} (set ALPHAFORGE_FIXTURES)")
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        lake = ParquetStore(Path(tmp) / "lake")
        ch = ClickHouseStore(f"chdb://{Path(tmp) / 'chdb'}", database="market")
        report = ingest_days(LocalDatafeed(FIXTURES), lake, SYMBOL, DAYS)
        assert report.ok, report.failed
        rows = {"ticks": 0, "bars": 0, "features": 0}
        for day in DAYS:
            ticks = lake.read_ticks(SYMBOL, day, day)
            bars = ticks_to_bars(ticks)
            lake.write_bars(SYMBOL, day, bars)
            feats = features_for_day(lake, SYMBOL, day, DEFAULT_FEATURE_SET)
            lake.write_features(SYMBOL, day, feats)
            ch.write_ticks(SYMBOL, day, ticks)
            ch.write_bars(SYMBOL, day, bars)
            ch.write_features(SYMBOL, day, feats)
            rows["ticks"] += len(ticks)
            rows["bars"] += len(bars)
            rows["features"] += len(feats)
        for kind, table in TABLES.items():
            ch.client.command(f"OPTIMIZE TABLE market.{table} FINAL")
            ch_rows, ch_bytes = ch.client.query(
                "SELECT sum(rows), sum(data_compressed_bytes) FROM system.parts "
                "WHERE database = 'market' AND table = {t:String} AND active",
                parameters={"t": table}).result_rows[0]
            assert int(ch_rows) == rows[kind], (kind, ch_rows, rows[kind])
            pq_bytes = lake_bytes(Path(tmp) / "lake", table)
            value, baseline = int(ch_bytes) / rows[kind], pq_bytes / rows[kind]
            print(json.dumps({"name": f"store_bytes_{kind}", "value": round(value, 2), "unit": "bytes/row",
                              "baseline": round(baseline, 2), "ratio": round(value / baseline, 3),
                              "rows": rows[kind], "clickhouse_bytes": int(ch_bytes),
                              "parquet_bytes": pq_bytes,
                              "days": len(DAYS), "symbol": SYMBOL}))
        ch.close()


if __name__ == "__main__":
    main()
