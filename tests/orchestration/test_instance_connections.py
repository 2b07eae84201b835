"""Runs on a PostgreSQL instance (the production storage) hold their connections and write a
ranged step's materialisations as one batch: a ranged run stores ~6 events a day, and Dagster's
storage would otherwise open 3-4 PostgreSQL connections for each and write them one at a time.
Counted by the server itself (pg_stat_database), on real fixture days."""

import datetime as dt
import os

import dagster as dg
import psycopg2
import pytest

from assets.daywise import DAYS_PER_RUN
from assets.features import features
from assets.instance import EVENT_BATCH_SIZE, prepare_event_storage
from assets.market import bars_1m, ticks
from assets.partitions import add_days
from orchestration.backfill import run_backfill
from orchestration.jobs import ingest_job
from tests.support.dagster_home import dagster_home
from tests.support.mlflow_server import throwaway_database
from tests.support.pipeline import resources

DAYS = [dt.date(2012, 12, d) for d in range(3, 9)]
KEYS = [f"{d.isoformat()}|GBPJPY" for d in DAYS]


@pytest.fixture
def pg_instance(tmp_path, postgres_dsn):
    """(instance, admin DSN, database name): a Dagster instance on a fresh PostgreSQL database."""
    admin = postgres_dsn.replace("postgresql+psycopg2://", "postgresql://")
    with throwaway_database(admin) as url, dagster_home(tmp_path / "dagster_home", url) as instance:
        yield instance, admin, url.rsplit("/", 1)[1]


def _stats(admin: str, database: str) -> tuple[int, int]:
    """(connections ever opened, transactions committed) on ``database``, as the server counts."""
    with psycopg2.connect(admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = %s", (database,))
        sessions, commits = cur.fetchone()
        return int(sessions), int(commits)


def _job(tmp_path, url):
    return dg.Definitions(assets=[ticks, bars_1m, features], jobs=[ingest_job],
                          resources=resources(tmp_path, url)).resolve_job_def("ingest")


def _events(instance: dg.DagsterInstance) -> int:
    return sum(len(instance.all_logs(run.run_id)) for run in instance.get_runs())


def test_a_backfill_opens_a_few_connections_not_one_per_event(tmp_path, pg_instance, datafeed_url):
    instance, admin, database = pg_instance
    job = _job(tmp_path, datafeed_url)
    before = _stats(admin, database)
    report = run_backfill(job, KEYS, instance)
    opened, commits = (b - a for a, b in zip(before, _stats(admin, database), strict=True))
    assert report.ok and report.succeeded == KEYS
    for asset in ("ticks", "bars_1m", "features"):  # every day recorded, batch or not
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(KEYS)
    events = _events(instance)
    # One run of six days: ~100 events (planned, materialisations, checks, steps). Measured: 6
    # connections and 312 commits; the pool without the batch: 21 and 405 (one connection per
    # materialisation, for Dagster's check of its tags table); neither: 294 and 665.
    assert events > 80 and opened <= 10, (events, opened)
    assert commits < 4 * events, (events, commits)


def test_a_run_started_elsewhere_holds_them_from_its_first_day(tmp_path, pg_instance, datafeed_url):
    """A run launched by the daemon (its own process, as on Kubernetes): the planned events come
    before any step, one connection each; from the first day on, the steps' events share one."""
    instance, admin, database = pg_instance
    job = _job(tmp_path, datafeed_url)
    add_days(instance, DAYS)  # what the daemon's backfill does before it launches the run
    before = _stats(admin, database)[0]
    result = job.execute_in_process(instance=instance, tags={
        "dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[-1]})
    opened = _stats(admin, database)[0] - before
    assert result.success
    planned = len(instance.get_records_for_run(
        result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records)
    events = _events(instance)
    assert planned == 3 * len(DAYS)
    # Measured with these six days: 114 connections for 94 events; none held: 302 (three an event).
    assert opened < 2 * events, (events, opened)


def test_prepared_once_per_instance_and_an_operators_batch_size_kept(monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "7")
    instance = dg.DagsterInstance.ephemeral()
    assert prepare_event_storage(instance) is True
    assert prepare_event_storage(instance) is False
    assert prepare_event_storage(None) is False
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "7"
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")
    prepare_event_storage(dg.DagsterInstance.ephemeral())
    assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) == EVENT_BATCH_SIZE >= DAYS_PER_RUN
