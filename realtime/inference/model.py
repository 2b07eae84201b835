"""Loading the served model from the MLflow registry, once, by alias."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from importlib import metadata

import mlflow
import numpy as np
from packaging.requirements import InvalidRequirement, Requirement

from ml.errors import ModelLoadError, ModelNotFoundError
from ml.models import SignalModel
from ml.registry import load_registered
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
    try:
        reg = load_registered(tracking_uri, name, alias=alias)
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
