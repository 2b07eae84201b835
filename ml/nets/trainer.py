"""The training loop shared by the torch classifiers: device choice, seeds, mixed precision, early stopping.

The data goes to the device once. Each epoch draws one random permutation of window indices and
each batch gathers its rows from the resident tensor, so nothing is copied per epoch (no
DataLoader re-collating the data set).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ml.errors import MLError
from ml.nets.report import TrainReport

log = logging.getLogger(__name__)


def select_device(device: str | torch.device | None = None) -> torch.device:
    """``cuda`` when available, else ``cpu``; an explicit request that cannot be met is an error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MLError(f"device {device!r} requested, but torch {torch.__version__} sees no CUDA device")
    return dev


def amp_dtype(device_type: str, bf16_supported: bool) -> torch.dtype | None:
    """The autocast dtype: bf16 (or fp16 on older GPUs) on cuda; None (full fp32) elsewhere."""
    if device_type != "cuda":
        return None
    return torch.bfloat16 if bf16_supported else torch.float16


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels for the duration of a fit; the global flags are restored afterwards."""
    was = torch.are_deterministic_algorithms_enabled()
    was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    if device.type == "cuda":
        # cuBLAS needs a fixed workspace to be reproducible; it must be set before its first use
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    # warn_only on cuda: an op without a deterministic kernel should not abort a training run
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=was_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op CPU threads set to ``n`` (None: unchanged) for the duration, then restored."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class DeviceData:
    """Standardised rows resident on a device, plus the window ends (and labels) that index them."""

    def __init__(self, rows: np.ndarray, ends: np.ndarray, lookback: int, device: torch.device,
                 y: np.ndarray | None = None, weight: np.ndarray | None = None):
        self.rows = torch.as_tensor(rows, dtype=torch.float32, device=device)
        self.ends = torch.as_tensor(ends, dtype=torch.long, device=device)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.float32, device=device)
        self.weight = None if weight is None else torch.as_tensor(weight, dtype=torch.float32, device=device)
        self.lookback = lookback
        self.offsets = torch.arange(-lookback + 1, 1, device=device)

    def __len__(self) -> int:
        return int(self.ends.shape[0])

    def inputs(self, idx: torch.Tensor) -> torch.Tensor:
        """(batch, features) rows for lookback 1, else (batch, lookback, features) windows."""
        e = self.ends[idx]
        return self.rows[e] if self.lookback == 1 else self.rows[e[:, None] + self.offsets]


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and stopping settings."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 512
    max_epochs: int = 50
    patience: int = 5
    min_delta: float = 0.0
    seed: int = 7


def forward_all(net: nn.Module, data: DeviceData, batch_size: int = 8192) -> torch.Tensor:
    """Logits for every window of ``data``, in eval mode, fp32 on the way out."""
    net.eval()
    dev = data.rows.device
    dtype = amp_dtype(dev.type, dev.type == "cuda" and torch.cuda.is_bf16_supported())
    out = []
    with torch.inference_mode(), torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
        for start in range(0, len(data), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(data)), device=dev)
            out.append(net(data.inputs(idx)).float())
    return torch.cat(out) if out else torch.empty(0, device=dev)


def train_net(net: nn.Module, train: DeviceData, val: DeviceData, cfg: TrainSettings) -> TrainReport:
    """Mini-batch AdamW on BCE-with-logits; stops after ``patience`` epochs without a better
    validation loss and leaves the best epoch's weights in ``net``."""
    if train.y is None or val.y is None:
        raise MLError("train_net needs labelled training and validation data")
    y_train, y_val = train.y, val.y
    dev = train.rows.device
    dtype = amp_dtype(dev.type, dev.type == "cuda" and torch.cuda.is_bf16_supported())
    # fp16 needs loss scaling against gradient underflow; bf16 and fp32 do not
    scaler = torch.amp.GradScaler(dev.type, enabled=dtype is torch.float16)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    report, best_state, stale = TrainReport(), None, 0
    for epoch in range(cfg.max_epochs):
        net.train()
        perm = torch.randperm(len(train), generator=gen, device=dev)
        total = torch.zeros((), device=dev)
        for start in range(0, len(train), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                logits = net(train.inputs(idx))
            if train.weight is None:
                loss = loss_fn(logits.float(), y_train[idx])
            else:  # sample weights: a weighted mean of the per-window losses
                w = train.weight[idx]
                per = nn.functional.binary_cross_entropy_with_logits(
                    logits.float(), y_train[idx], reduction="none")
                loss = (per * w).sum() / w.sum().clamp_min(1e-12)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            total += loss.detach() * idx.shape[0]  # summed on device: no host sync per batch
        val_loss = float(loss_fn(forward_all(net, val), y_val))
        report.history.append({"epoch": epoch, "train_loss": float(total) / len(train), "val_loss": val_loss})
        log.debug("epoch %d train %.5f val %.5f", epoch, report.history[-1]["train_loss"], val_loss)
        if val_loss < report.best_val_loss - cfg.min_delta:
            report.best_val_loss, report.best_epoch, stale = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if best_state is None:
        raise MLError(f"no usable epoch: max_epochs={cfg.max_epochs}, validation losses {report.history}")
    net.load_state_dict(best_state)
    log.info("trained %d epochs on %s, best epoch %d (val loss %.5f)",
             report.epochs_run, dev, report.best_epoch, report.best_val_loss)
    return report
