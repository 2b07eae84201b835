"""Input checks and the standard scaler that the torch classifiers carry as plain numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.errors import InvalidInputError


def check_features(X: np.ndarray, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """``X`` as a 2-D float64 array with finite values; ``n_features`` columns when given."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name} must be 2-D (rows, features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInputError(f"{name} has no rows")
    if n_features is not None and arr.shape[1] != n_features:
        raise InvalidInputError(f"{name} has {arr.shape[1]} features, the model was fitted on {n_features}")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise InvalidInputError(
            f"{name} holds {int(bad.sum())} NaN/inf values (first at row {rows[0]}, column {cols[0]})"
        )
    return arr


def check_labels(y: np.ndarray, n_rows: int, name: str = "y") -> np.ndarray:
    """``y`` as a float32 vector of 0/1 labels, one per row of the matching ``X``; NaN marks a
    row without a target."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise InvalidInputError(f"{name} has shape {arr.shape}, expected ({n_rows},) to match the rows of X")
    values = np.unique(arr[np.isfinite(arr)])
    if not np.isin(values, (0, 1)).all():
        raise InvalidInputError(f"{name} must hold only 0 and 1, found {values[:5].tolist()}")
    return arr.astype(np.float32)


def check_groups(groups: np.ndarray | None, n_rows: int, name: str = "groups") -> np.ndarray | None:
    """``groups`` as a 1-D array with one symbol per row, or None."""
    if groups is None:
        return None
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise InvalidInputError(f"{name} has shape {arr.shape}, expected ({n_rows},) to match the rows of X")
    return arr


@dataclass(frozen=True)
class Standardiser:
    """Per-feature (x - mean) / std, fitted on the training set. Constant features get std 1."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardiser:
        """Mean and population std of each column of ``X``."""
        std = X.std(axis=0)
        # a constant column would divide by zero; it carries no information, so leave it centred only
        std = np.where(std > 0, std, 1.0)
        return cls(mean=X.mean(axis=0), std=std)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardised float32 copy of ``X``."""
        return ((X - self.mean) / self.std).astype(np.float32)

    def as_dict(self) -> dict:
        """JSON-ready description, for logging the fitted preprocessing."""
        return {"kind": "standard", "mean": self.mean.tolist(), "std": self.std.tolist()}
