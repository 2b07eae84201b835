"""A backfill over partitions: consecutive days of a symbol run as one ranged run, one failing
partition does not stop the others, and running the backfill again finishes only what failed.
Real datafeed mirror (the fixture files) with injected faults and a corrupted file."""

import datetime as dt
import shutil

import dagster as dg
import pandas as pd

from assets.features import features
from assets.market import bars_1m, ticks
from marketdata.dukascopy import DukascopyClient
from marketdata.store import ParquetStore
from orchestration.backfill import BACKFILL_TAG, key_ranges, materialised, run_backfill
from orchestration.jobs import ingest_job
from tests.support.pipeline import resources
from tests.support.static_server import serve_directory

KEYS = ["2019-02-04|EURUSD", "2019-02-05|EURUSD"]
# 2019-02-05 10:00 (the datafeed's months are zero-based): 2 client attempts x 3 step attempts
# (the ticks asset's RetryPolicy) of 503 make that partition fail; afterwards the hour is served.
BROKEN_HOUR = "EURUSD/2019/01/05/10h_ticks.bi5"


def test_failed_partition_does_not_stop_the_others_and_resumes(tmp_path, fixtures_dir):
    instance = dg.DagsterInstance.ephemeral()
    with serve_directory(fixtures_dir, faults={BROKEN_HOUR: [503] * 6}) as (url, _hits):
        job = dg.Definitions(assets=[ticks, bars_1m, features], jobs=[ingest_job],
                             resources=resources(tmp_path, url)).resolve_job_def("ingest")
        first = run_backfill(job, KEYS, instance)
        assert first.succeeded == ["2019-02-04|EURUSD"]
        assert list(first.failed) == ["2019-02-05|EURUSD"] and "503" in first.failed["2019-02-05|EURUSD"]
        assert materialised(instance, job.asset_layer.executable_asset_keys) == {KEYS[0]}

        again = run_backfill(job, KEYS, instance, backfill_id=first.backfill_id)
    assert again.ok and again.skipped == [KEYS[0]] and again.succeeded == [KEYS[1]]
    runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: first.backfill_id}))
    assert len(runs) == 3 and all(r.tags["datafeed"] == "dukascopy" for r in runs)


# Five weekdays of real GBPJPY fixtures (the datafeed's month 11 is December).
DAYS = [dt.date(2012, 12, d) for d in range(3, 8)]
RANGE_KEYS = [f"{d.isoformat()}|GBPJPY" for d in DAYS]


def _job(tmp_path, url):
    return dg.Definitions(assets=[ticks, bars_1m, features], jobs=[ingest_job],
                          resources=resources(tmp_path, url)).resolve_job_def("ingest")


def _runs(instance, backfill_id):
    return instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))


def test_keys_group_into_runs_of_consecutive_days_per_symbol():
    keys = ["2019-02-05|EURUSD", "2019-02-04|EURUSD", "2019-02-04|GBPJPY", "2019-02-07|EURUSD",
            "2019-02-08|EURUSD", "2019-02-09|EURUSD"]
    assert key_ranges(keys, 92) == [["2019-02-04|EURUSD", "2019-02-05|EURUSD"],
                                    ["2019-02-07|EURUSD", "2019-02-08|EURUSD", "2019-02-09|EURUSD"],
                                    ["2019-02-04|GBPJPY"]]
    assert key_ranges(keys, 2)[1:3] == [["2019-02-07|EURUSD", "2019-02-08|EURUSD"], ["2019-02-09|EURUSD"]]


def test_five_days_are_one_run_stored_once_and_skipped_on_rerun(tmp_path, fixtures_dir):
    instance = dg.DagsterInstance.ephemeral()
    with serve_directory(fixtures_dir) as (url, hits):
        first = run_backfill(_job(tmp_path, url), RANGE_KEYS, instance)
        downloads = len(hits)
        again = run_backfill(_job(tmp_path, url), RANGE_KEYS, instance)
        raw = DukascopyClient(base_url=url, cache_dir=None, retries=0)
        expected = {d: len(raw.fetch_day("GBPJPY", d)) for d in DAYS}
    assert first.ok and first.succeeded == RANGE_KEYS
    (run,) = _runs(instance, first.backfill_id)  # one run for the five days
    assert run.tags["dagster/asset_partition_range_end"] == RANGE_KEYS[-1]
    assert downloads == 24 * len(DAYS)
    store = ParquetStore(tmp_path / "lake")
    for table in ("ticks", "bars", "features"):
        assert store.days(table, "GBPJPY") == DAYS
    stored = store.read_ticks("GBPJPY", DAYS[0], DAYS[-1])
    per_day = stored.groupby(pd.to_datetime(stored["ts_ms"], unit="ms").dt.date).size().to_dict()
    assert per_day == expected and all(n > 1000 for n in expected.values())  # each day once, whole
    checks = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evals = [r.event_log_entry.dagster_event.event_specific_data for r in checks.records]
    by_name = {e.check_name: e for e in evals}
    assert by_name["ask_ge_bid"].passed and by_name["ask_ge_bid"].metadata["days_checked"].value == 5
    assert by_name["bars_cover_ticks"].passed
    assert again.ok and again.skipped == RANGE_KEYS and not again.succeeded
    assert len(_runs(instance, again.backfill_id)) == 0


def test_corrupt_day_fails_clearly_and_the_other_days_are_kept(tmp_path, fixtures_dir):
    mirror = tmp_path / "mirror"
    for d in DAYS:
        rel = f"GBPJPY/{d.year}/{d.month - 1:02d}/{d.day:02d}"
        shutil.copytree(fixtures_dir / rel, mirror / rel)
    (mirror / "GBPJPY/2012/11/05/09h_ticks.bi5").write_bytes(b"not an LZMA stream" * 10)
    instance = dg.DagsterInstance.ephemeral()
    with serve_directory(mirror) as (url, hits):
        first = run_backfill(_job(tmp_path / "data", url), RANGE_KEYS, instance)
        bad = RANGE_KEYS[2]
        assert list(first.failed) == [bad]
        assert "1 of 5 days failed" in first.failed[bad] and "corrupt LZMA" in first.failed[bad]
        assert first.succeeded == [k for k in RANGE_KEYS if k != bad]
        assert len(_runs(instance, first.backfill_id)) == 3  # the range, then the days either side
        store = ParquetStore(tmp_path / "data" / "lake")
        for table in ("ticks", "bars", "features"):
            assert store.days(table, "GBPJPY") == [d for d in DAYS if d != DAYS[2]]
        before = len(hits)
        again = run_backfill(_job(tmp_path / "data", url), RANGE_KEYS, instance)
        assert again.skipped == first.succeeded and list(again.failed) == [bad]
        # only the corrupt day's hours were asked for again
        assert {h.split("/")[4] for h in hits[before:]} == {"05"}
