"""A multi-layer perceptron classifier over one feature row, with a pure-numpy one-row fast path.

The network itself (:class:`ml.nets.modules.MLPNet`) and torch load only to fit or batch-predict.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.errors import InvalidInputError
from ml.nets.base import TorchClassifier

if TYPE_CHECKING:
    from torch import nn


def sigmoid(z: float) -> float:
    """Logistic function that does not overflow for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def fold_mlp(net: nn.Module, mean: np.ndarray, std: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """float64 (W, b) per linear layer, with the standardisation folded into the first one:
    W1 ((x - m) / s) + b1 = (W1 / s) x + (b1 - (W1 / s) m)."""
    from torch import nn

    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]  # in forward order
    layers = [(lin.weight.detach().double().numpy().copy(), lin.bias.detach().double().numpy().copy())
              for lin in linears]
    w1, b1 = layers[0]
    w1 = w1 / std
    layers[0] = (np.ascontiguousarray(w1), b1 - w1 @ mean)
    return layers


class TorchMLPClassifier(TorchClassifier):
    """MLP on standardised features. ``predict_one`` runs in numpy on weights extracted after fit."""

    lookback = 1

    def __init__(self, hidden: tuple[int, ...] = (64, 32), dropout: float = 0.0, lr: float = 1e-3,
                 batch_size: int = 512, max_epochs: int = 50, patience: int = 5, seed: int = 7,
                 device: str | None = None, weight_decay: float = 0.0, min_delta: float = 0.0,
                 num_threads: int | None = None):
        super().__init__(lr=lr, batch_size=batch_size, max_epochs=max_epochs, patience=patience, seed=seed,
                         device=device, weight_decay=weight_decay, min_delta=min_delta,
                         num_threads=num_threads)
        self.hidden, self.dropout = tuple(hidden), dropout

    def _build_net(self, n_features: int) -> nn.Module:
        from ml.nets.modules import MLPNet

        return MLPNet(n_features, self.hidden, self.dropout)

    def _after_fit(self) -> None:
        layers = fold_mlp(self.net_, self.scaler_.mean, self.scaler_.std)
        self._hidden_layers = layers[:-1]
        w_out, b_out = layers[-1]
        self._w_out, self._b_out = w_out[0], float(b_out[0])

    def predict_one(self, x: np.ndarray) -> float:
        """P(label == 1) for one feature vector of shape (n_features,); pure numpy, a few µs."""
        self._check_fitted()
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n_features_,):
            raise InvalidInputError(f"predict_one wants shape ({self.n_features_},), got {x.shape}")
        # x.x is NaN or inf exactly when some x_i is (or when |x| is astronomically large)
        if not math.isfinite(x.dot(x)):
            raise InvalidInputError(f"predict_one got NaN/inf features: {x.tolist()}")
        h = x
        for w, b in self._hidden_layers:
            h = w.dot(h)  # ndarray.dot skips the matmul ufunc's dispatch: ~1 µs less per layer
            h += b
            np.maximum(h, 0.0, out=h)
        return sigmoid(float(self._w_out.dot(h)) + self._b_out)


def __getattr__(name: str) -> Any:
    # models pickled before the networks moved to ml.nets.modules name MLPNet here
    if name == "MLPNet":
        from ml.nets.modules import MLPNet

        return MLPNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
