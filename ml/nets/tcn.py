"""A temporal convolution network (TCN) classifier over the last ``lookback`` rows of one symbol.

The network itself (:class:`ml.nets.modules.TCNNet`) and torch load only to fit or batch-predict;
one window is served by the compiled plan of :mod:`ml.nets.tcn_compiled`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ml.errors import InvalidInputError
from ml.nets.base import TorchClassifier
from ml.nets.mlp import sigmoid
from ml.nets.tcn_numpy import plan_tcn

if TYPE_CHECKING:
    from torch import nn

    from ml.nets.tcn_compiled import PackedTCN


class TorchTCNClassifier(TorchClassifier):
    """TCN over windows of ``lookback`` consecutive rows of one group (symbol), never across groups."""

    def __init__(self, lookback: int = 32, channels: int = 32, kernel_size: int = 3, dropout: float = 0.1,
                 lr: float = 1e-3, batch_size: int = 512, max_epochs: int = 50, patience: int = 5,
                 seed: int = 7, device: str | None = None, weight_decay: float = 0.0, min_delta: float = 0.0,
                 num_threads: int | None = None):
        super().__init__(lr=lr, batch_size=batch_size, max_epochs=max_epochs, patience=patience, seed=seed,
                         device=device, weight_decay=weight_decay, min_delta=min_delta,
                         num_threads=num_threads)
        if lookback < 2:
            raise InvalidInputError(f"a sequence model needs lookback >= 2, got {lookback}")
        self.lookback, self.channels = lookback, channels
        self.kernel_size, self.dropout = kernel_size, dropout

    # the packed arrays are rebuilt from the plan on first use: a pickle never needs numba
    _transient = ("_net", "_packed")

    def _build_net(self, n_features: int) -> nn.Module:
        from ml.nets.modules import TCNNet

        return TCNNet(n_features, self.lookback, self.channels, self.kernel_size, self.dropout)

    def _after_fit(self) -> None:
        from ml.nets.modules import TCNNet

        net = self.net_
        assert isinstance(net, TCNNet)
        self._rows, self._plan = plan_tcn(net.blocks, self.lookback)
        self._head_w = net.head.weight.detach().double().numpy()[0].copy()
        self._head_b = float(net.head.bias.detach()[0])
        self._inv_std = 1.0 / self.scaler_.std
        self.__dict__.pop("_packed", None)  # a refit replaces the weights

    def predict_one(self, x: np.ndarray) -> float:
        """P(label == 1) for one window of shape (lookback, n_features), oldest row first.

        One compiled call (:mod:`ml.nets.tcn_compiled`) on weights extracted after fit, computing
        only what the last step's logit needs."""
        self._check_fitted()
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape != (self.lookback, self.n_features_):
            raise InvalidInputError(
                f"predict_one wants a window of shape ({self.lookback}, {self.n_features_}), got {x.shape}"
            )
        packed = self.__dict__.get("_packed") or self._pack()
        p = packed.predict(x)
        if p != p:  # NaN: the kernel found a NaN or inf in the window
            raise InvalidInputError("predict_one got NaN/inf values in the window")
        return p

    def predict_one_numpy(self, x: np.ndarray) -> float:
        """The same probability from the numpy steps of the plan (a second reference)."""
        self._check_fitted()
        h = (np.asarray(x, dtype=np.float64)[self._rows] - self.scaler_.mean) * self._inv_std
        for step in self._plan:
            h = step(h)
        return sigmoid(float(h[0] @ self._head_w) + self._head_b)

    def _pack(self) -> PackedTCN:
        from ml.nets.tcn_compiled import pack_tcn  # numba loads only when a TCN predicts

        self._packed = pack_tcn(self._rows, self._plan, self.scaler_.mean, self._inv_std, self._head_w,
                                self._head_b)
        return self._packed

    def predict_one_torch(self, x: np.ndarray) -> float:
        """The same probability from a torch forward of the whole window (reference and baseline)."""
        import torch

        self._check_fitted()
        z = torch.from_numpy(self.scaler_.transform(np.asarray(x, dtype=np.float64)))[None]
        with torch.inference_mode():
            return float(torch.sigmoid(self.net_(z).double())[0])


def __getattr__(name: str) -> Any:
    # models pickled before the networks moved to ml.nets.modules name their classes here
    if name in {"TCNNet", "CausalBlock", "tcn_levels"}:
        from ml.nets import modules

        return getattr(modules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
