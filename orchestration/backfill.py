"""Backfills run in process: ranged runs of up to a quarter per symbol, past failures, resumable.

In production a backfill is launched from the UI or ``dagster job backfill``; the assets'
backfill policy (assets.daywise) makes the daemon group a symbol's days into ranged runs, and the
run queue bounds how many run at once (``tag_concurrency_limits`` on ``datafeed: dukascopy``,
deploy/dagster.yaml). This module is the same idea without a daemon, for ``alphaforge ingest``
and tests: the requested keys become runs over consecutive days of one symbol, tagged with the
backfill id. A run that fails part-way is split: the days it finished for some assets are run
again (their downloads are skipped), the days it could not do are reported with the run's error,
and running the same backfill again only re-runs what is not yet materialised.
The days of day x symbol keys join the instance's day partitions first (assets.partitions).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from assets.instance import prepare_event_storage
from assets.partitions import add_days, daily, days_of

log = logging.getLogger(__name__)
BACKFILL_TAG = "alphaforge/backfill"
# Dagster's own tags for a run over a partition key range (what its backfill daemon sets).
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


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
            if err is None:
                return "step failed"
            if err.cls_name == "Failure":  # raised on purpose: its description is the message
                return err.message.split(": ", 1)[-1].strip()
            return (err.cause or err).message.strip()
    return "run failed"


def days_per_run(job: dg.JobDefinition) -> int:
    """The most days one run of ``job`` may cover: the smallest of its assets' backfill policies
    (1 when any asset has none, i.e. runs one partition at a time)."""
    graph = job.asset_layer.asset_graph
    sizes = []
    for key in job.asset_layer.executable_asset_keys:
        policy = graph.get(key).backfill_policy
        if policy is None:
            return 1
        sizes.append(policy.max_partitions_per_run or 10**9)
    return min(sizes, default=1)


def key_ranges(partition_keys: Iterable[str], max_days: int) -> list[list[str]]:
    """``date|symbol`` keys grouped into runs: consecutive days of one symbol, at most ``max_days``
    each, by symbol then date."""
    parsed = sorted({(k.split("|")[1], dt.date.fromisoformat(k.split("|")[0])) for k in partition_keys})
    groups: list[list[str]] = []
    prev: tuple[str, dt.date] | None = None
    for symbol, day in parsed:
        contiguous = prev is not None and prev[0] == symbol and (day - prev[1]).days == 1
        if not contiguous or len(groups[-1]) >= max_days:
            groups.append([])
        groups[-1].append(f"{day.isoformat()}|{symbol}")
        prev = (symbol, day)
    return groups


def _has_day_dimension(partitions_def: dg.PartitionsDefinition | None) -> bool:
    return (isinstance(partitions_def, dg.MultiPartitionsDefinition)
            and "date" in partitions_def.partition_dimension_names
            and partitions_def.get_partitions_def_for_dimension("date") == daily)


def run_backfill(job: dg.JobDefinition, partition_keys: Sequence[str], instance: dg.DagsterInstance,
                 run_config: dict[str, Any] | None = None, backfill_id: str | None = None,
                 resume: bool = True, max_days: int | None = None) -> BackfillReport:
    """Run ``job`` over ``partition_keys`` in ranged runs of up to ``max_days`` (default: the
    assets' backfill policy); continue past failures.

    With ``resume`` (the default) partitions whose every asset is already materialised in
    ``instance`` are skipped, so re-running a backfill after a failure finishes only the rest.
    """
    report = BackfillReport(backfill_id or uuid.uuid4().hex[:8])
    prepare_event_storage(instance)  # each run's planned events and its steps' events too
    if _has_day_dimension(job.partitions_def):
        add_days(instance, days_of(partition_keys))
    done = materialised(instance, job.asset_layer.executable_asset_keys) if resume else set()
    report.skipped = [k for k in partition_keys if k in done]
    todo = [k for k in partition_keys if k not in done]
    for group in key_ranges(todo, max_days or days_per_run(job)):
        _run_group(job, group, instance, run_config, report, split=True)
    return report


def _run_group(job: dg.JobDefinition, keys: list[str], instance: dg.DagsterInstance,
               run_config: dict[str, Any] | None, report: BackfillReport, split: bool) -> None:
    tags = {BACKFILL_TAG: report.backfill_id}
    if len(keys) > 1:
        tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    log.info("backfill %s: running %s to %s", report.backfill_id, keys[0], keys[-1])
    result = job.execute_in_process(partition_key=keys[0] if len(keys) == 1 else None, instance=instance,
                                    run_config=run_config, tags=tags, raise_on_error=False)
    if result.success:
        report.succeeded += keys
        return
    error = _first_error(result)
    by_key: dict[str, set[dg.AssetKey]] = {}
    for event in result.get_asset_materialization_events():
        if event.partition is not None and event.asset_key is not None:
            by_key.setdefault(event.partition, set()).add(event.asset_key)
    wanted = set(job.asset_layer.executable_asset_keys)
    report.succeeded += [k for k in keys if by_key.get(k, set()) >= wanted]
    partial = [k for k in keys if by_key.get(k) and not by_key[k] >= wanted]
    # Days the run got part of the way through go again (once) without the days that failed.
    failed = [k for k in keys if not by_key.get(k)] + ([] if split else partial)
    for key in failed:
        report.failed[key] = error
        log.warning("backfill %s: partition %s failed: %s", report.backfill_id, key, error)
    if split:
        for group in key_ranges(partial, len(keys)):
            _run_group(job, group, instance, run_config, report, split=False)
