"""PyTorch classifiers for the ML layer: an MLP over one feature row and a TCN over per-symbol windows.

Both follow the interface of the scikit-learn families: ``fit(X, y, X_val, y_val, groups, groups_val)``,
``predict_proba(X, groups) -> (n,)``, ``predict_one(x)``, plus ``preprocessing()`` and ``get_params()``.

Importing them does not import torch (fitting and batch prediction do): a fitted classifier holds
its weights as numpy arrays and predicts one row in numpy, so serving one never loads torch.
"""

from typing import Any

from ml.nets.base import TorchClassifier
from ml.nets.mlp import TorchMLPClassifier
from ml.nets.tcn import TorchTCNClassifier

__all__ = ["TorchClassifier", "TorchMLPClassifier", "TorchTCNClassifier", "select_device"]


def __getattr__(name: str) -> Any:
    if name == "select_device":  # ml.nets.trainer imports torch
        from ml.nets.trainer import select_device

        return select_device
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
