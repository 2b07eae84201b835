"""Model families behind one classifier interface, and the one registry that names them.

A family is declared once, here (the built-in ones) or by whoever adds one
(:func:`register_family`): its name, where its classifier class lives, what the logged model
needs installed, and how the train job runs it. Training (:func:`make_classifier`), the logged
model's requirements, the train job's assets (one per default family, a GPU node for
``gpu`` families) all read the registry; serving needs nothing from it, since a logged model
carries its fitted classifier.

Every family standardises its inputs itself and exposes the fitted preprocessing. ``lookback``
is 1 for row models, K for sequence models. Labels may hold NaN (a bar without a training
target): row models skip it, sequence models keep it inside other rows' windows.
``sample_weight`` weighs each row's loss in every family.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ml.errors import MLError

# Models logged before the row models moved to ml.row_models pickled them under this module.
from ml.row_models import LightGBMClassifier, LogRegClassifier, labelled_rows  # noqa: F401


class Classifier(Protocol):
    """What training, evaluation and serving need from a model family."""

    lookback: int

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
            groups: np.ndarray | None = None, groups_val: np.ndarray | None = None,
            sample_weight: np.ndarray | None = None) -> Any: ...

    def predict_proba(self, X: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray: ...

    def predict_one(self, x: np.ndarray) -> float: ...

    def preprocessing(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Family:
    """One model family.

    ``classifier``: the classifier class, or ``"module:Class"`` imported on first use (torch and
    LightGBM load only when their family is asked for). ``requirements``: pip pins the logged
    model needs on top of the base ones. ``kind``: the Dagster kind of its asset; ``gpu``: the
    train job asks Kubernetes for a GPU node for it. ``default``: trained unless
    ``ALPHAFORGE_MODEL_FAMILIES`` names the families.
    """

    name: str
    classifier: str | Callable[..., Classifier]
    requirements: tuple[str, ...] = ()
    kind: str = "sklearn"
    gpu: bool = False
    default: bool = True

    def build(self, **params: Any) -> Classifier:
        """A fresh, unfitted classifier of this family."""
        factory = self.classifier
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            factory = getattr(importlib.import_module(module), attr)
        return factory(**params)


_REGISTRY: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add ``family``; registering the same declaration again is harmless, another one under a
    taken name is refused."""
    if not family.name or not family.name.isidentifier():
        raise MLError(f"model family name {family.name!r}: use letters, digits and underscores")
    held = _REGISTRY.setdefault(family.name, family)
    if held != family:
        raise MLError(f"model family {family.name!r} is already registered as {held}")
    return family


def family_names() -> list[str]:
    """Every registered family, in registration order."""
    return list(_REGISTRY)


def default_families() -> list[str]:
    """The families the train job trains when not told otherwise."""
    return [f.name for f in _REGISTRY.values() if f.default]


def get_family(name: str) -> Family:
    """The family called ``name``; MLError naming the registered ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MLError(f"unknown model family {name!r}; use one of {', '.join(_REGISTRY)}") from None


def make_classifier(family: str, **params: Any) -> Classifier:
    """A fresh classifier of ``family`` (any registered one)."""
    return get_family(family).build(**params)


for _family in (
    Family("logreg", "ml.row_models:LogRegClassifier"),
    Family("lgbm", "ml.row_models:LightGBMClassifier", ("lightgbm==4.7.0",)),
    Family("mlp", "ml.nets.mlp:TorchMLPClassifier", ("torch==2.13.0",), kind="pytorch", gpu=True),
    Family("tcn", "ml.nets.tcn:TorchTCNClassifier", ("torch==2.13.0",), kind="pytorch", gpu=True),
):
    register_family(_family)
