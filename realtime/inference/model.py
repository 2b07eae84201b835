"""Loading the served model from the MLflow registry, once, by alias."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from importlib import metadata

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from packaging.requirements import InvalidRequirement, Requirement

from ml.errors import ModelLoadError, ModelNotFoundError
from ml.models import SignalModel
from ml.registry import load_registered
from realtime.errors import ModelUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model and the registry version it came from.

    ``signals_only``: the alias was unset, so this is the newest registered version, served for
    its signals while every order is refused (it never passed the promotion gate).
    """

    model: SignalModel
    name: str
    version: str
    alias: str
    signals_only: bool = False

    @property
    def banner(self) -> str | None:
        """What a person must know about the served model, or None when it may trade."""
        if not self.signals_only:
            return None
        return (f"Signals only: no {self.name}@{self.alias} yet, so v{self.version} (the newest "
                f"version, not promoted) serves signals and every order is refused (423). A version "
                f"that passes the promotion gate becomes @{self.alias} and enables trading.")


def load_serving(tracking_uri: str, name: str, alias: str, newest_without_alias: bool) -> LoadedModel:
    """``models:/name@alias``; when the alias is unset and ``newest_without_alias``, the newest
    registered version in signals-only mode. Any other failure raises ModelUnavailableError."""
    try:
        return load_by_alias(tracking_uri, name, alias)
    except ModelUnavailableError:
        if not newest_without_alias or alias_version(tracking_uri, name, alias) is not None:
            raise
    version = newest_version(tracking_uri, name)
    if version is None:
        raise ModelUnavailableError(f"no model at models:/{name}@{alias}, and no version of {name} "
                                    "is registered: train one first (alphaforge demo, or alphaforge train)")
    loaded = load_by_alias(tracking_uri, name, alias, version=version)
    log.warning("no %s@%s: serving v%s for signals only; orders are refused", name, alias, version)
    return LoadedModel(loaded.model, name, loaded.version, alias, signals_only=True)


def alias_version(tracking_uri: str, name: str, alias: str) -> str | None:
    """The version ``alias`` points at, or None when it is unset (or the model is unknown)."""
    try:
        return str(MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def newest_version(tracking_uri: str, name: str) -> str | None:
    """The highest registered version number of ``name``, or None."""
    try:
        versions = MlflowClient(tracking_uri=tracking_uri).search_model_versions(f"name='{name}'")
    except MlflowException:
        return None
    return max((str(v.version) for v in versions), key=int, default=None)


def load_by_alias(tracking_uri: str, name: str, alias: str, version: str | None = None) -> LoadedModel:
    """Load ``models:/name@alias`` (or that model's ``version``); raise ModelUnavailableError when
    the alias is unset or the model cannot be loaded."""
    mlflow.set_tracking_uri(tracking_uri)
    try:
        reg = (load_registered(tracking_uri, name, alias=alias) if version is None
               else load_registered(tracking_uri, name, version=version))
    except ModelNotFoundError as exc:
        raise ModelUnavailableError(f"no model at models:/{name}@{alias}: {exc}") from exc
    except ModelLoadError as exc:
        raise ModelUnavailableError(f"models:/{name}@{alias} {exc}") from exc
    if (reg.path / "requirements.txt").exists():
        for problem in requirement_mismatches((reg.path / "requirements.txt").read_text()):
            log.warning("models:/%s/%s was logged with %s", name, reg.version, problem)
    log.info("serving %s v%s (@%s)", name, reg.version, alias)
    return LoadedModel(reg.model, name, reg.version, alias)


@functools.lru_cache(maxsize=2)  # the served model and the one before
def can_predict(loaded: LoadedModel) -> bool:
    """Whether the model answers a probability for an all-zero input of its shape.

    Cached per loaded model, so /ready pays for one prediction per model, not per probe.
    """
    model = loaded.model
    try:
        width, lookback = len(model.columns), max(1, int(getattr(model, "lookback", 1)))
        x = np.zeros(width) if lookback == 1 else np.zeros((lookback, width))
        prob = float(model.predict_row(x))
    except Exception as exc:
        log.error("model v%s cannot predict: %s: %s", loaded.version, type(exc).__name__, exc)
        return False
    return math.isfinite(prob) and 0.0 <= prob <= 1.0


def requirement_mismatches(requirements: str) -> list[str]:
    """The lines of a pip requirements file that the installed packages do not satisfy."""
    problems = []
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req} (not installed here)")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{req} (installed here: {installed})")
    return problems
