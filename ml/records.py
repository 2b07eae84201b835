"""The typed records the training pipeline hands from one step to the next.

The train job's steps may run in separate pods, so what they pass is pickled into the store
between them (``assets.io``): each record is a small frozen dataclass, never the rows
themselves. A step that needs the training rows reads them with :meth:`TrainingSet.frame`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from marketdata.store import MarketStore
from ml.dataset import training_frame
from ml.features import DEFAULT_FEATURE_SET
from ml.holdout import Holdout


@dataclass(frozen=True)
class TrainingSet:
    """The labelled window every model of one run trains on, and the partitions it read; the
    frozen ``holdout`` days (if any) come after ``end`` and are never part of it."""

    symbols: tuple[str, ...]
    start: dt.date
    end: dt.date
    horizon: int
    label: str = "forward"
    partitions: tuple[str, ...] = ()
    holdout: Holdout | None = None

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("a training set needs at least one symbol")
        if self.start > self.end:
            raise ValueError(f"training window starts {self.start} after it ends {self.end}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least one bar, not {self.horizon}")
        if self.holdout is not None and not self.end < self.holdout.start <= self.holdout.end:
            raise ValueError(f"holdout {self.holdout} must follow the training window ending {self.end}")

    def frame(self, store: MarketStore) -> pd.DataFrame:
        """The labelled training rows of this window, read from ``store``."""
        return training_frame(store, list(self.symbols), self.start, self.end, DEFAULT_FEATURE_SET,
                              self.horizon, self.label)

    def lineage(self) -> dict[str, object]:
        """What the MLflow run records as its ``lineage.*`` tags."""
        return {"symbols": ",".join(self.symbols), "start": self.start, "end": self.end,
                "partitions": ";".join(self.partitions), "label": self.label, "horizon": self.horizon,
                **({f"holdout_{k}": v for k, v in self.holdout.as_dict().items()} if self.holdout else {})}


@dataclass(frozen=True)
class TrainedModel:
    """One registered version of a family, and the window it is judged on out of sample:
    from ``test_start`` (after training, its purge and embargo) to ``end``."""

    family: str
    version: str
    test_start: pd.Timestamp
    end: dt.date
    symbols: tuple[str, ...]
    horizon: int
    threshold: float
    holdout: Holdout | None = None


@dataclass(frozen=True)
class Evaluation:
    """The out-of-sample figures of the version the gate is asked about (``family`` when known)."""

    version: str
    metrics: dict[str, float] = field(default_factory=dict)
    family: str = ""


@dataclass(frozen=True)
class Selection:
    """The train job's candidate selection: whether CPCV ran, and the PBO of choosing among
    its families x hyperparameters x thresholds (NaN when it did not run)."""

    cpcv: bool
    pbo: float = math.nan
    n_candidates: int = 0
    run_id: str = ""
