"""Evaluate and promote one registered model version: the job the model-version sensor starts
(and ``alphaforge promote`` runs). The ops are in :mod:`assets.promotion`."""

import dagster as dg

from assets.promotion import evaluate_version, promote_version


@dg.job(description="Evaluate and promote one registered model version (started by a sensor).")
def evaluate_model_version() -> None:
    promote_version(evaluate_version())
