"""A backfill over partitions: one failing partition does not stop the others, and running the
backfill again finishes only what failed. Real datafeed mirror with injected faults."""

import dagster as dg

from assets.features import features
from assets.market import bars_1m, ticks
from orchestration.backfill import BACKFILL_TAG, materialised, run_backfill
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
