"""MLflow reachability: fail fast and clearly instead of retrying for minutes."""

from __future__ import annotations

from pathlib import Path

import httpx
import mlflow
from mlflow import MlflowClient

from ml.errors import TrackingUnavailableError


def ensure_tracking_reachable(uri: str, timeout: float = 5.0) -> None:
    """Raise TrackingUnavailableError when an HTTP tracking server does not answer /health.

    File and database URIs are local and need no check.
    """
    if not uri.startswith(("http://", "https://")):
        return
    try:
        httpx.get(uri.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise TrackingUnavailableError(f"MLflow tracking server {uri} is unreachable: {exc}") from exc


def default_artifact_root(tracking_uri: str) -> str | None:
    """Artifacts beside a sqlite store (``<dir>/mlartifacts``); a server decides for itself.

    Without this MLflow writes artifacts to ``./mlruns`` in whatever folder the process runs.
    """
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).parent.joinpath("mlartifacts").as_uri()
    return None


def activate_experiment(tracking_uri: str, name: str) -> MlflowClient:
    """Point the mlflow module at ``tracking_uri`` and experiment ``name`` (created with an
    artifact root next to the store when missing); return a client."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    if client.get_experiment_by_name(name) is None:
        client.create_experiment(name, artifact_location=default_artifact_root(tracking_uri))
    mlflow.set_experiment(name)
    return client
