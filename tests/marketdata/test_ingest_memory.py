"""Peak memory of ingestion: under 1 GB for a month, and not growing with the date range.

Each ingestion runs in a fresh interpreter that reports ``ru_maxrss`` at the end, so the peak
belongs to that run alone. A week and the full month of GBPJPY (~0.3 M vs 1.09 M ticks) must
peak at about the same place, because days are streamed, never held together.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import datetime as dt, resource, sys, tempfile
from marketdata.ingest import ingest_days
from marketdata.local import LocalDatafeed
from marketdata.store import ParquetStore
n_days = int(sys.argv[2])
days = [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(n_days)]
with tempfile.TemporaryDirectory() as tmp:
    report = ingest_days(LocalDatafeed(sys.argv[1]), ParquetStore(tmp), "GBPJPY", days)
assert report.ok, report.failed
try:
    # VmHWM belongs to this process image alone; ru_maxrss on Linux also counts the parent's
    # RSS at fork time, which a big pytest process would contaminate.
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
except OSError:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
print(report.ticks, hwm)
"""


def peak_rss(fixtures_dir: Path, n_days: int) -> tuple[int, int]:
    """(ticks, peak RSS bytes) of a fresh process that ingests the first ``n_days`` days."""
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(fixtures_dir), str(n_days)],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=120,
    )
    ticks, rss = out.stdout.split()
    return int(ticks), int(rss)


def test_month_peak_rss_is_small_and_flat(fixtures_dir: Path) -> None:
    week_ticks, week = peak_rss(fixtures_dir, 8)  # Sat 1st to Sat 8th: a full trading week
    month_ticks, month = peak_rss(fixtures_dir, 26)
    assert month_ticks == 1_088_197 and month_ticks > 3 * week_ticks
    assert month < 1024**3, f"month peak RSS {month / 2**20:.0f} MiB"
    assert month < 1.3 * week + 50 * 2**20, (
        f"peak RSS grows with the range: week {week / 2**20:.0f} MiB, month {month / 2**20:.0f} MiB"
    )
