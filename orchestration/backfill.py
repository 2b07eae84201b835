"""Backfills run in process: one run per partition, past failures, resumable.

In production a backfill is launched from the UI or ``dagster job backfill`` and the daemon's
run queue bounds it (``tag_concurrency_limits`` on ``datafeed: dukascopy``, deploy/dagster.yaml).
This module is the same idea without a daemon, for ``alphaforge ingest`` and tests: each
partition is its own run tagged with the backfill id, a failed partition is reported and the
rest go on, and running the same backfill again only re-runs what is not yet materialised.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

log = logging.getLogger(__name__)
BACKFILL_TAG = "alphaforge/backfill"


@dataclass
class BackfillReport:
    """What one pass of a backfill did, partition keys by outcome."""

    backfill_id: str
    succeeded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> first error message
    skipped: list[str] = field(default_factory=list)  # already materialised

    @property
    def ok(self) -> bool:
        """True when no partition failed."""
        return not self.failed


def materialised(instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey]) -> set[str]:
    """Partition keys materialised for *every* one of ``asset_keys``."""
    sets = [set(instance.get_materialized_partitions(k)) for k in asset_keys]
    return set.intersection(*sets) if sets else set()


def _first_error(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            err = event.step_failure_data.error
            return (err.cause or err).message.strip() if err else "step failed"
    return "run failed"


def run_backfill(job: dg.JobDefinition, partition_keys: Sequence[str], instance: dg.DagsterInstance,
                 run_config: dict[str, Any] | None = None, backfill_id: str | None = None,
                 resume: bool = True) -> BackfillReport:
    """Run ``job`` once per partition key; continue past failures.

    With ``resume`` (the default) partitions whose every asset is already materialised in
    ``instance`` are skipped, so re-running a backfill after a failure finishes only the rest.
    """
    report = BackfillReport(backfill_id or uuid.uuid4().hex[:8])
    done = materialised(instance, job.asset_layer.executable_asset_keys) if resume else set()
    for key in partition_keys:
        if key in done:
            report.skipped.append(key)
            continue
        result = job.execute_in_process(partition_key=key, instance=instance, run_config=run_config,
                                        tags={BACKFILL_TAG: report.backfill_id}, raise_on_error=False)
        if result.success:
            report.succeeded.append(key)
        else:
            report.failed[key] = _first_error(result)
            log.warning("backfill %s: partition %s failed: %s", report.backfill_id, key, report.failed[key])
    return report
