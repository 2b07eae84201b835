"""The PyTorch model families (``mlp``, ``tcn``); the implementation lives in ``ml.nets``.

One import point for the torch classifiers; the family registry (``ml.families``) names each
class by its own module and imports it on first use, so torch loads only for a torch family.
"""

from ml.nets import TorchClassifier, TorchMLPClassifier, TorchTCNClassifier
from ml.nets.trainer import select_device

__all__ = ["TorchClassifier", "TorchMLPClassifier", "TorchTCNClassifier", "select_device"]
