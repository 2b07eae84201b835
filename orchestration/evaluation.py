"""Evaluate and promote one registered model version: the job the model-version sensor starts
(and ``alphaforge promote`` runs), and the daily end of a paper-trading period. The ops are in
:mod:`assets.promotion` and :mod:`assets.paper`."""

import dagster as dg

from assets.paper import judge_paper_period
from assets.promotion import evaluate_version, promote_version


@dg.job(description="Evaluate and promote one registered model version (started by a sensor).")
def evaluate_model_version() -> None:
    promote_version(evaluate_version())


@dg.job(description="Judge the @paper version on its own paper trades; a pass makes it @champion.")
def paper_period() -> None:
    judge_paper_period()


paper_period_daily = dg.ScheduleDefinition(
    name="paper_period_daily", job=paper_period, cron_schedule="30 6 * * *", execution_timezone="UTC",
    description="06:30 UTC: ends a paper period that has run its days (nothing to do without @paper).",
)
