"""Each day's bars, built by a run's ticks step from the ticks it holds, taken by its bars step.

When the steps of a run share a process (``execute_in_process``: ``alphaforge ingest``,
``orchestration.backfill.run_backfill``, tests), the bars step follows the ticks step with the
ticks no longer in memory. The ticks step therefore builds each day's bars from the very frame it
stored (a few ms, while the next days still download) and leaves them here; the bars step takes
them instead of reading the day's ticks back. Under a multiprocess or Kubernetes executor each step
has its own process, nothing is found, and the bars step reads the stored ticks as it always did:
the bars are the same either way.

Entries are keyed by run id, removed when taken, and dropped when another run starts handing over,
so at most one run's bars (~160 kB a day) are held.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd

_lock = threading.Lock()
_run_id: str | None = None
_days: dict[tuple[str, dt.date], tuple[pd.DataFrame, int]] = {}


def keep(run_id: str, symbol: str, day: dt.date, bars: pd.DataFrame, n_ticks: int) -> None:
    """Hold ``day``'s bars, built from its ``n_ticks`` stored ticks, for ``run_id``'s bars step."""
    global _run_id
    with _lock:
        if run_id != _run_id:
            _days.clear()
            _run_id = run_id
        _days[(symbol.upper(), day)] = (bars, n_ticks)


def take(run_id: str, symbol: str, day: dt.date) -> tuple[pd.DataFrame, int] | None:
    """The bars and tick count kept for ``day`` by ``run_id``'s ticks step (once), or None."""
    with _lock:
        if run_id != _run_id:
            return None
        return _days.pop((symbol.upper(), day), None)
