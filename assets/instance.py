"""One held connection to the Dagster instance's database per process, for event-heavy runs.

Dagster's PostgreSQL storage opens a new connection for every event it stores (SQLAlchemy's
NullPool, so that idle processes hold none). A ranged backfill run stores about six events per
day (a planned event and a materialisation per day and asset), and a new PostgreSQL connection
took ~6-9 ms here, more than the event itself: on the fixture days that was ~2 s of a ~6 s
backfill (``make bench BENCH=backfill``). :func:`hold_connections` gives the instance's
storages the pooled engines the webserver uses: one connection each, held for the process.
Dagster still opens a second, short-lived one inside each materialisation (a check that its tags
table exists), so a three-day run opened ~12 connections instead of ~250
(``tests/orchestration/test_instance_connections.py``). Storages without a pool (SQLite, in
memory) ignore it. The daemon, which stores a run's planned events when it launches the run,
is Dagster's own process and keeps one connection per event.
"""

from __future__ import annotations

import threading
import weakref

import dagster as dg

# Dagster's webserver defaults (dagster_webserver.cli), but no statement timeout: a run's
# queries are its own, and PostgreSQL's default (none) is what they ran under before.
POOL_RECYCLE_S = 3600
POOL_MAX_OVERFLOW = 20
_pooled: weakref.WeakSet[dg.DagsterInstance] = weakref.WeakSet()
_lock = threading.Lock()


def hold_connections(instance: dg.DagsterInstance | None) -> bool:
    """Make ``instance`` keep its database connections open (once per instance).

    Returns True the first time for an instance, False when it was already pooled or is None.
    """
    if instance is None:
        return False
    with _lock:
        if instance in _pooled:
            return False
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=POOL_RECYCLE_S,
                                        max_overflow=POOL_MAX_OVERFLOW)
        _pooled.add(instance)
        return True
