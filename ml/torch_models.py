"""The PyTorch model families (``mlp``, ``tcn``); the implementation lives in ``ml.nets``.

Kept as the import point that ``ml.families`` loads lazily, so torch is only imported when a torch
family is asked for.
"""

from ml.nets import TorchClassifier, TorchMLPClassifier, TorchTCNClassifier, select_device

__all__ = ["TorchClassifier", "TorchMLPClassifier", "TorchTCNClassifier", "select_device"]
