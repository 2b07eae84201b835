"""PyTorch classifiers for the ML layer: an MLP over one feature row and a TCN over per-symbol windows.

Both follow the interface of the scikit-learn families: ``fit(X, y, X_val, y_val, groups, groups_val)``,
``predict_proba(X, groups) -> (n,)``, ``predict_one(x)``, plus ``preprocessing()`` and ``get_params()``.
"""

from ml.nets.base import TorchClassifier
from ml.nets.mlp import TorchMLPClassifier
from ml.nets.tcn import TorchTCNClassifier
from ml.nets.trainer import select_device

__all__ = ["TorchClassifier", "TorchMLPClassifier", "TorchTCNClassifier", "select_device"]
