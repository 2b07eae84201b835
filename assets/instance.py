"""The Dagster instance's event storage, made ready for ranged runs (a few events per day).

A ranged backfill run stores about six events per day (a planned event and a materialisation per
day and asset) and ~40 more. On PostgreSQL, the production storage, two defaults of Dagster's
made that the largest part of a backfill (``make bench BENCH=backfill``):

* **A connection per event.** The storage opens a new connection for every event (SQLAlchemy's
  NullPool, so that idle processes hold none); here one took ~6-9 ms, more than the event, and
  Dagster opened 3-4 per event: ~2 s of a ~6 s backfill of the fixture days. The storages now get
  the pooled engines Dagster's webserver uses: one connection each, held for the process.
* **A statement per materialisation.** A ranged step's output becomes one materialisation per
  day, written one at a time unless ``DAGSTER_EVENT_BATCH_SIZE`` is set; with it, Dagster writes
  them as one batch (one INSERT of every row, their tags, the asset's latest), which took a
  further 0.6-1.0 s off that backfill.

With both, a six-day run opened 6 connections and committed 312 times, against 21 and 405 with
the pool alone and 294 and 665 with neither (``tests/orchestration/test_instance_connections.py``).
Storages without a pool or a batch write (SQLite, in memory) are unaffected. The daemon, which
stores a run's planned events when it launches the run, is Dagster's own process and keeps
Dagster's defaults.
"""

from __future__ import annotations

import os
import threading
import weakref

import dagster as dg

# Dagster's webserver defaults (dagster_webserver.cli), but no statement timeout: a run's
# queries are its own, and PostgreSQL's default (none) is what they ran under before.
POOL_RECYCLE_S = 3600
POOL_MAX_OVERFLOW = 20
# At least a run's days (assets.daywise.DAYS_PER_RUN, 92): each asset's materialisations in one.
EVENT_BATCH_SIZE = 100
_prepared: weakref.WeakSet[dg.DagsterInstance] = weakref.WeakSet()
_lock = threading.Lock()


def prepare_event_storage(instance: dg.DagsterInstance | None) -> bool:
    """Hold ``instance``'s database connections and batch ranged materialisations (once per
    instance). An operator's own ``DAGSTER_EVENT_BATCH_SIZE`` is kept.

    Returns True the first time for an instance, False when it was already prepared or is None.
    """
    if instance is None:
        return False
    with _lock:
        # Read by the instance at each event, in this process: set before the run's first one.
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))
        if instance in _prepared:
            return False
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=POOL_RECYCLE_S,
                                        max_overflow=POOL_MAX_OVERFLOW)
        _prepared.add(instance)
        return True
