"""Benchmark: training throughput of the torch MLP, and its one-row predict fast path.

Prints three JSON lines, both measured in this run on this device:
- ``train_torch``: value = training samples/s of ``TorchMLPClassifier.fit`` (data resident on the
  device, one permutation per epoch, batches gathered by index); baseline = samples/s of the same
  network, optimiser, batch size and epochs trained the naive way, building a fresh tensor copy,
  TensorDataset and shuffling DataLoader every epoch; ratio = value / baseline.
  Each side runs REPEATS times, alternating, and its fastest run counts.
- ``predict_one_torch_mlp``: value = µs per row of ``predict_one`` (numpy on weights folded after
  fit); baseline = µs per row of a torch forward of the same fitted network on one scaled row under
  ``inference_mode``; ratio = baseline / value.
- ``predict_one_torch_tcn``: the same for the TCN (lookback 32, 32 channels, four blocks): value =
  µs per window of ``predict_one`` (numpy, only the steps the last logit needs); baseline = µs of
  ``predict_one_torch`` (torch forward of the whole window).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from ml.nets.modules import MLPNet  # noqa: E402
from ml.torch_models import TorchMLPClassifier, TorchTCNClassifier, select_device  # noqa: E402

N_TRAIN, N_VAL, N_FEATURES, EPOCHS, BATCH, HIDDEN = 50_000, 5_000, 32, 3, 512, (64, 32)
REPEATS = 3  # alternating runs, best of each: the shared box's load swings between runs


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features with a noisy non-linear label rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    z = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) - 0.5 * X[:, 3] + 0.5 * rng.normal(size=n)
    return X, (z > 0).astype(np.int64)


def naive_fit(X: np.ndarray, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray, device: torch.device) -> float:
    """The baseline loop; returns seconds. Same scaling, net, optimiser and per-epoch validation."""
    start = time.perf_counter()
    mean, std = X.mean(axis=0), X.std(axis=0)
    torch.manual_seed(7)
    net = MLPNet(N_FEATURES, HIDDEN).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(EPOCHS):
        ds = TensorDataset(torch.tensor((X - mean) / std, dtype=torch.float32),
                           torch.tensor(y, dtype=torch.float32))
        net.train()
        for xb, yb in DataLoader(ds, batch_size=BATCH, shuffle=True):
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            xv = torch.tensor((Xv - mean) / std, dtype=torch.float32, device=device)
            float(loss_fn(net(xv), torch.tensor(yv, dtype=torch.float32, device=device)))
    return time.perf_counter() - start


def per_call_us(fn, x, calls: int = 2000, repeats: int = 7) -> float:
    """Median over ``repeats`` of the mean µs per call."""
    fn(x)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(x)
        runs.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(runs)


def main() -> None:
    # one intra-op thread for both sides: on a shared 2-core box two OpenMP threads oversubscribe
    # the cores and make either loop several times slower (override with BENCH_TORCH_THREADS)
    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "1")))
    device = select_device(None)
    X, y = make_data(N_TRAIN + N_VAL)
    X, y, Xv, yv = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]
    # warm-up: the first fit in a process pays one-off imports (torch's deterministic-mode switch)
    TorchMLPClassifier(hidden=HIDDEN, max_epochs=1).fit(X[:2000], y[:2000], Xv[:500], yv[:500])

    # patience above the epoch count: both sides train exactly EPOCHS epochs
    ours_s, naive_s = [], []
    for _ in range(REPEATS):
        clf = TorchMLPClassifier(hidden=HIDDEN, batch_size=BATCH, max_epochs=EPOCHS, patience=EPOCHS + 1)
        t0 = time.perf_counter()
        clf.fit(X, y, Xv, yv)
        ours_s.append(time.perf_counter() - t0)
        assert clf.report_.epochs_run == EPOCHS
        naive_s.append(naive_fit(X, y, Xv, yv, device))
    ours, naive = N_TRAIN * EPOCHS / min(ours_s), N_TRAIN * EPOCHS / min(naive_s)
    acc = float(((clf.predict_proba(Xv) > 0.5) == yv).mean())
    print(json.dumps({"name": "train_torch", "value": round(ours, 1), "unit": "samples/s",
                      "baseline": round(naive, 1), "ratio": round(ours / naive, 2), "device": str(device),
                      "torch_threads": torch.get_num_threads(), "val_accuracy": round(acc, 3)}))

    net, mean, std = clf.net_, clf.scaler_.mean, clf.scaler_.std

    def torch_one(x: np.ndarray) -> float:
        with torch.inference_mode():
            z = torch.from_numpy(((x - mean) / std).astype(np.float32))[None]
            return float(torch.sigmoid(net(z))[0])

    row = Xv[0]
    fast, slow = per_call_us(clf.predict_one, row), per_call_us(torch_one, row)
    assert abs(clf.predict_one(row) - torch_one(row)) < 1e-6, "fast path disagrees with torch"
    print(json.dumps({"name": "predict_one_torch_mlp", "value": round(fast, 2), "unit": "us/row",
                      "baseline": round(slow, 2), "ratio": round(slow / fast, 2), "device": "cpu"}))

    tcn = TorchTCNClassifier(lookback=32, channels=32, max_epochs=1)
    tcn.fit(X[:5000], y[:5000], Xv[:1000], yv[:1000])
    window = Xv[:32]
    assert abs(tcn.predict_one(window) - tcn.predict_one_torch(window)) < 1e-6, "TCN fast path disagrees"
    fast, slow = per_call_us(tcn.predict_one, window, 500), per_call_us(tcn.predict_one_torch, window, 200)
    print(json.dumps({"name": "predict_one_torch_tcn", "value": round(fast, 2), "unit": "us/window",
                      "baseline": round(slow, 2), "ratio": round(slow / fast, 2), "device": "cpu"}))


if __name__ == "__main__":
    main()
