"""A numpy forward pass of a fitted TCN for one window: the realtime fast path of the sequence model.

A torch forward of the small TCN costs ~0.5 ms per window on CPU, almost all of it per-op overhead.
Only the last time step's logit is wanted, so the plan works backwards from it once, after fit:
each convolution is computed only at the time steps the layer above reads, as one gather of the
dilated taps and one matrix product. Left padding is a zero row appended to each layer's input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch loads only where a plan is made, from a fitted network
    import torch
    from torch import nn


@dataclass(frozen=True)
class ConvStep:
    """One causal convolution at selected time steps: ``gather`` indexes the input rows (plus a zero row)."""

    gather: np.ndarray  # (n_out, kernel) row indices into the input; len(input) means "padding"
    weight: np.ndarray  # (kernel * c_in, c_out)
    bias: np.ndarray  # (c_out,)

    def __call__(self, h: np.ndarray) -> np.ndarray:
        padded = np.concatenate([h, np.zeros((1, h.shape[1]))])
        out = padded[self.gather].reshape(len(self.gather), -1) @ self.weight
        out += self.bias
        return np.maximum(out, 0.0, out=out)


@dataclass(frozen=True)
class BlockStep:
    """One residual block: relu(conv2(conv1(h)) + skip(h)) at the block's output time steps."""

    conv1: ConvStep
    conv2: ConvStep
    skip_rows: np.ndarray  # indices of the output time steps among the input rows
    skip_weight: np.ndarray | None  # (c_in, c_out) for a 1x1 convolution, None for identity
    skip_bias: np.ndarray | None

    def __call__(self, h: np.ndarray) -> np.ndarray:
        res = h[self.skip_rows]
        if self.skip_weight is not None:
            res = res @ self.skip_weight + self.skip_bias
        out = self.conv2(self.conv1(h))
        out += res
        return np.maximum(out, 0.0, out=out)


def _taps(out_steps: np.ndarray, kernel: int, dilation: int) -> np.ndarray:
    """(n_out, kernel) input time steps each output reads, oldest first; negative = padding."""
    return out_steps[:, None] - (kernel - 1 - np.arange(kernel)) * dilation


def _array(t: torch.Tensor | None, size: int) -> np.ndarray:
    """A float64 copy of a parameter; zeros for a missing bias."""
    return np.zeros(size) if t is None else t.detach().double().numpy().copy()


def _conv_step(conv: nn.Conv1d, taps: np.ndarray, in_steps: np.ndarray) -> ConvStep:
    pad_row = len(in_steps)
    gather = np.where(taps >= 0, np.searchsorted(in_steps, taps), pad_row)
    w = _array(conv.weight, 0)  # (c_out, c_in, kernel)
    weight = np.ascontiguousarray(w.transpose(2, 1, 0).reshape(-1, w.shape[0]))
    return ConvStep(gather, weight, _array(conv.bias, w.shape[0]))


def plan_tcn(blocks: nn.Sequential, lookback: int) -> tuple[np.ndarray, list[BlockStep]]:
    """The window rows the first block reads, and the block steps, for the last time step only."""
    from torch import nn

    steps: list[BlockStep] = []
    out_steps = np.array([lookback - 1])
    block: Any  # a ml.nets.modules.CausalBlock
    for block in reversed(list(blocks)):
        k, d = block.conv1.kernel_size[0], block.conv1.dilation[0]
        mid_taps = _taps(out_steps, k, d)
        mid_steps = np.unique(mid_taps[mid_taps >= 0])
        in_taps = _taps(mid_steps, k, d)
        in_steps = np.unique(in_taps[in_taps >= 0])
        skip = block.skip if isinstance(block.skip, nn.Conv1d) else None
        steps.append(BlockStep(
            conv1=_conv_step(block.conv1, in_taps, in_steps),
            conv2=_conv_step(block.conv2, mid_taps, mid_steps),
            skip_rows=np.searchsorted(in_steps, out_steps),
            skip_weight=None if skip is None else _array(skip.weight, 0)[:, :, 0].T.copy(),
            skip_bias=None if skip is None else _array(skip.bias, skip.out_channels),
        ))
        out_steps = in_steps
    return out_steps, steps[::-1]
