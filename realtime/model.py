"""Loading the served model from the MLflow registry, once, by alias."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml.models import SignalModel
from realtime.errors import ModelUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model and the registry version it came from."""

    model: SignalModel
    name: str
    version: str
    alias: str


def load_by_alias(tracking_uri: str, name: str, alias: str) -> LoadedModel:
    """Load ``models:/name@alias``; raise ModelUnavailableError when the alias is unset."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        mv = client.get_model_version_by_alias(name, alias)
        model = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}").unwrap_python_model()
    except MlflowException as exc:
        raise ModelUnavailableError(f"no model at models:/{name}@{alias}: {exc.message}") from exc
    if not isinstance(model, SignalModel):
        raise ModelUnavailableError(f"models:/{name}@{alias} is not an alphaforge SignalModel")
    log.info("serving %s v%s (@%s)", name, mv.version, alias)
    return LoadedModel(model, name, str(mv.version), alias)
