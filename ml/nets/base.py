"""What the torch classifiers share: validation, scaling, windowing, fitting, batch prediction, pickling.

A subclass supplies ``lookback`` and ``_build_net``. After ``fit`` the network lives on the CPU in
eval mode. A fitted classifier pickles (MLflow logs it with cloudpickle) its weights as numpy
arrays, never the torch network: this module imports torch only inside the methods that need it,
so the realtime service unpickles a champion and serves it (``predict_one``, in numpy) without
loading torch (~2 s of its start-up). The network is rebuilt from the weights on first use.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from ml.errors import InvalidInputError, MLError, NotEnoughDataError
from ml.nets.inputs import Standardiser, check_features, check_groups, check_labels
from ml.nets.report import TrainReport
from ml.nets.windows import WindowIndex, build_windows

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ml.nets.trainer import DeviceData

MIN_TRAIN_WINDOWS = 16


class TorchClassifier:
    """Binary classifier on a torch network; ``predict_proba`` gives P(label == 1) per row.

    ``device`` None picks cuda when available. ``num_threads`` sets torch's CPU threads while fitting
    and predicting (None keeps torch's setting); 1 is fastest for small nets on a busy machine.
    """

    lookback: int = 1
    # derived state that a pickle leaves out: the torch network (rebuilt from ``weights_``)
    _transient: tuple[str, ...] = ("_net",)

    def __init__(self, lr: float = 1e-3, batch_size: int = 512, max_epochs: int = 50, patience: int = 5,
                 seed: int = 7, device: str | None = None, weight_decay: float = 0.0, min_delta: float = 0.0,
                 num_threads: int | None = None):
        self.num_threads = num_threads
        self.lr, self.batch_size, self.max_epochs, self.patience = lr, batch_size, max_epochs, patience
        self.seed, self.device, self.weight_decay, self.min_delta = seed, device, weight_decay, min_delta

    def _build_net(self, n_features: int) -> nn.Module:
        raise NotImplementedError

    def _after_fit(self) -> None:
        """Hook for subclasses to precompute fast-path state once the weights are final."""

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, for logging as run parameters."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
            groups: np.ndarray | None = None, groups_val: np.ndarray | None = None,
            sample_weight: np.ndarray | None = None) -> Self:
        """Train on (X, y), early-stopping on (X_val, y_val). ``groups`` name each row's symbol.

        A NaN label is a bar without a target: it stays inside other rows' windows, but no
        window ends on it. ``sample_weight`` weighs each row's loss.
        """
        X = check_features(X, "X")
        y = check_labels(y, len(X), "y")
        X_val = check_features(X_val, "X_val", n_features=X.shape[1])
        y_val = check_labels(y_val, len(X_val), "y_val")
        labelled = y[np.isfinite(y)]
        if np.unique(labelled).size < 2:
            raise InvalidInputError(f"y holds only class {labelled[:1].astype(int).tolist()}: "
                                    "a classifier needs both 0 and 1")
        weight = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        if weight.shape != (len(X),) or not np.isfinite(weight).all() or (weight < 0).any():
            raise InvalidInputError(f"sample_weight must be {len(X)} finite weights >= 0")
        scaler = Standardiser.fit(X)
        train_w = _targets(self._windows(X, groups, "groups"), y)
        val_w = _targets(self._windows(X_val, groups_val, "groups_val"), y_val)
        if len(train_w.ends) < MIN_TRAIN_WINDOWS:
            raise NotEnoughDataError(
                f"{len(train_w.ends)} training windows of {self.lookback} rows within one group, "
                f"need at least {MIN_TRAIN_WINDOWS}"
            )
        if len(val_w.ends) == 0:
            raise NotEnoughDataError(f"no validation group has {self.lookback} rows")
        import torch

        from ml.nets.modules import numpy_weights
        from ml.nets.trainer import TrainSettings, cpu_threads, deterministic, select_device, train_net

        device = select_device(self.device)
        settings = TrainSettings(lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size,
                                 max_epochs=self.max_epochs, patience=self.patience,
                                 min_delta=self.min_delta, seed=self.seed)
        with deterministic(device), cpu_threads(self.num_threads):
            torch.manual_seed(self.seed)
            net = self._build_net(X.shape[1]).to(device)
            train = self._device_data(scaler.transform(X), train_w, device, y, weight)
            val = self._device_data(scaler.transform(X_val), val_w, device, y_val)
            report = train_net(net, train, val, settings)
        self._net = net.to("cpu").float().eval()
        self.weights_ = numpy_weights(self._net)
        self.scaler_, self.n_features_, self.device_ = scaler, X.shape[1], str(device)
        self.report_: TrainReport = report
        self._after_fit()
        return self

    def predict_proba(self, X: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """P(label == 1) per row, shape (n,); NaN where a row lacks ``lookback`` rows of history."""
        self._check_fitted()
        X = check_features(X, "X", n_features=self.n_features_)
        w = self._windows(X, groups, "groups")
        out = np.full(len(X), np.nan)
        if len(w.ends):
            import torch

            from ml.nets.trainer import cpu_threads, forward_all

            data = self._device_data(self.scaler_.transform(X), w, torch.device("cpu"))
            with cpu_threads(self.num_threads):
                out[w.rows] = torch.sigmoid(forward_all(self.net_, data).double()).numpy()
        return out

    def preprocessing(self) -> dict[str, Any]:
        """The fitted preprocessing as a JSON-ready dict (scaler mean/std, lookback, feature count)."""
        self._check_fitted()
        return {**self.scaler_.as_dict(), "lookback": self.lookback, "n_features": self.n_features_}

    def _windows(self, X: np.ndarray, groups: np.ndarray | None, name: str) -> WindowIndex:
        groups = check_groups(groups, len(X), name)
        # a one-row window cannot cross groups, so the MLP keeps the caller's row order
        return build_windows(len(X), self.lookback, groups if self.lookback > 1 else None)

    def _device_data(self, Z: np.ndarray, w: WindowIndex, device: torch.device,
                     y: np.ndarray | None = None, weight: np.ndarray | None = None) -> DeviceData:
        from ml.nets.trainer import DeviceData

        rows = Z if self.lookback == 1 else Z[w.order]
        return DeviceData(rows, w.ends, self.lookback, device, None if y is None else y[w.rows],
                          None if weight is None else weight[w.rows])

    def _check_fitted(self) -> None:
        if "weights_" not in self.__dict__:
            raise MLError(f"{type(self).__name__} is not fitted yet: call fit() first")

    @property
    def net_(self) -> nn.Module:
        """The fitted torch network (CPU, eval mode); rebuilt from ``weights_`` after unpickling."""
        net = self.__dict__.get("_net")
        if net is None:
            self._check_fitted()
            from ml.nets.modules import load_numpy_weights

            net = self._net = load_numpy_weights(self._build_net(self.n_features_), self.weights_)
        return net

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._transient}

    def __setstate__(self, state: dict) -> None:
        if "net_" in state:  # pickled before the weights were kept as numpy: it holds the network
            from ml.nets.modules import numpy_weights

            state = dict(state)
            state["_net"] = state.pop("net_")
            state["weights_"] = numpy_weights(state["_net"])
        self.__dict__.update(state)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _targets(w: WindowIndex, y: np.ndarray) -> WindowIndex:
    """Only the windows that end on a labelled row are training targets."""
    return WindowIndex(order=w.order, ends=w.ends[np.isfinite(y[w.rows])], lookback=w.lookback)
