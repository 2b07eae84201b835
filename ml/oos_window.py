"""The training window every registered version carries, and the check that no out-of-sample
evaluation overlaps it.

Training writes ``window.*`` tags on the model version (train start/end, label horizon, purge,
embargo, test start/end). Promotion, the model-version sensor and any re-evaluation ask
:func:`check_oos_start` before judging a version; a start inside the training period plus its
purge and embargo, or a version without the tags, is refused and nothing is promoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from mlflow import MlflowClient

from ml.errors import LeakageError

TAG_PREFIX = "window."


@dataclass(frozen=True)
class TrainingWindow:
    """Where a version's training data lies and where its own out-of-sample test began."""

    train_start: pd.Timestamp
    train_end: pd.Timestamp  # the last training bar
    label_end: pd.Timestamp  # the last bar any training label looked at
    horizon: int
    purge: int
    embargo: int
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def tags(self) -> dict[str, str]:
        """The window as model-version tags."""
        return {f"{TAG_PREFIX}{k}": (v.isoformat() if isinstance(v, pd.Timestamp) else str(v))
                for k, v in self.__dict__.items()}

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], what: str = "this version") -> TrainingWindow:
        """Read the window back; a :class:`LeakageError` when any tag is missing."""
        missing = [k for k in cls.__dataclass_fields__ if f"{TAG_PREFIX}{k}" not in tags]
        if missing:
            names = ", ".join(TAG_PREFIX + m for m in missing)
            raise LeakageError(f"{what} carries no training window (missing {names}): its out-of-sample "
                               "period cannot be verified; retrain it to register the window")
        kw: dict[str, object] = {}
        for k, f in cls.__dataclass_fields__.items():
            raw = tags[f"{TAG_PREFIX}{k}"]
            kw[k] = int(raw) if f.type in ("int", int) else _utc(raw)
        return cls(**kw)  # type: ignore[arg-type]

    @property
    def earliest_oos(self) -> pd.Timestamp:
        """The first bar an evaluation may start at: the version's own test start."""
        return self.test_start


def _utc(raw: str) -> pd.Timestamp:
    ts = pd.Timestamp(raw)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def version_window(client: MlflowClient, name: str, version: str) -> TrainingWindow:
    """The training window registered on ``name`` version ``version``."""
    mv = client.get_model_version(name, str(version))
    return TrainingWindow.from_tags(mv.tags or {}, f"{name} v{version}")


def check_oos_start(window: TrainingWindow, start: pd.Timestamp, what: str = "this version") -> pd.Timestamp:
    """``start`` as a UTC timestamp if it lies at or after the version's test start; otherwise a
    :class:`LeakageError` naming the overlap with training (its labels, purge and embargo)."""
    start = _utc(str(start))
    if start < window.earliest_oos:
        raise LeakageError(
            f"out-of-sample start {start.isoformat()} overlaps the training of {what}: it trained on "
            f"{window.train_start.isoformat()} .. {window.train_end.isoformat()} (labels to "
            f"{window.label_end.isoformat()}, purge {window.purge}, embargo {window.embargo} bars); "
            f"the earliest allowed start is {window.earliest_oos.isoformat()}")
    return start
