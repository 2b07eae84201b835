"""The TCN's one-window forward compiled with numba: the realtime fast path of the sequence model.

:func:`ml.nets.tcn_numpy.plan_tcn` already reduces the network to the time steps the last logit
needs (~210 k multiply-adds for four 32-channel blocks), but as numpy calls that is ~60 small
operations per window, ~130 us of per-call overhead for ~20 us of arithmetic. Here the same plan
is packed once into three flat arrays and one compiled function runs the whole window: scaling,
every block, the head and the sigmoid, in float64.

numba is imported when this module is, which :class:`~ml.nets.tcn.TorchTCNClassifier` does on the
first ``predict_one``: the realtime service only pays for it when it serves a TCN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from ml.nets.tcn_numpy import BlockStep, ConvStep

# Columns of the per-block table ``meta``: sizes, then offsets into the packed arrays.
(N_IN, C_IN, N_MID, N_OUT, C_OUT, KERNEL, G1, W1, B1, G2, W2, B2, SKIP_ROWS, SKIP_W, SKIP_B) = range(15)
N_META = 15
# Reassociation lets the compiler vectorise the dot products; the other fast-math flags would
# let it assume no NaN or inf, and the window's finiteness check must stay.
_REASSOC = {"reassoc", "contract", "nsz"}


@dataclass(frozen=True)
class PackedTCN:
    """A planned TCN as flat arrays: ``floats`` (weights, biases), ``ints`` (gathers, skip rows),
    ``meta`` (one row per block, columns above; SKIP_W is -1 for an identity skip)."""

    rows: np.ndarray  # window rows the first block reads
    mean: np.ndarray
    inv_std: np.ndarray
    floats: np.ndarray
    ints: np.ndarray
    meta: np.ndarray
    head_w: np.ndarray
    head_b: float

    def predict(self, x: np.ndarray) -> float:
        """P(label == 1) for a float64 window; NaN when the window holds NaN or inf."""
        return float(
            _forward(x, self.rows, self.mean, self.inv_std, self.floats, self.ints, self.meta,
                     self.head_w, self.head_b)
        )


def pack_tcn(rows: np.ndarray, plan: list[BlockStep], mean: np.ndarray, inv_std: np.ndarray,
             head_w: np.ndarray, head_b: float) -> PackedTCN:
    """Flatten the plan of :func:`~ml.nets.tcn_numpy.plan_tcn` (in block order) for :func:`_forward`."""
    floats: list[np.ndarray] = []
    ints: list[np.ndarray] = []
    sizes = {"f": 0, "i": 0}

    def put(arr: np.ndarray, kind: str) -> int:
        target = floats if kind == "f" else ints
        flat = np.ascontiguousarray(arr, dtype=np.float64 if kind == "f" else np.int64).ravel()
        target.append(flat)
        offset = sizes[kind]
        sizes[kind] += flat.size
        return offset

    meta = np.zeros((len(plan), N_META), np.int64)
    n_in = len(rows)
    for i, block in enumerate(plan):
        c1, c2 = block.conv1, block.conv2
        kernel = c1.gather.shape[1]
        c_in, c_out = c1.weight.shape[0] // kernel, c1.weight.shape[1]
        m = meta[i]
        m[N_IN], m[C_IN], m[N_MID], m[N_OUT], m[C_OUT], m[KERNEL] = (
            n_in, c_in, len(c1.gather), len(c2.gather), c_out, kernel)
        m[G1], m[W1], m[B1] = _conv(c1, put)
        m[G2], m[W2], m[B2] = _conv(c2, put)
        m[SKIP_ROWS] = put(block.skip_rows, "i")
        if block.skip_weight is None:
            m[SKIP_W], m[SKIP_B] = -1, -1
        else:
            m[SKIP_W], m[SKIP_B] = put(block.skip_weight.T, "f"), put(block.skip_bias, "f")  # type: ignore[arg-type]
        n_in = len(c2.gather)
    return PackedTCN(
        rows=np.ascontiguousarray(rows, np.int64), mean=np.ascontiguousarray(mean, np.float64),
        inv_std=np.ascontiguousarray(inv_std, np.float64),
        floats=np.concatenate(floats) if floats else np.zeros(0),
        ints=np.concatenate(ints) if ints else np.zeros(0, np.int64), meta=meta,
        head_w=np.ascontiguousarray(head_w, np.float64), head_b=float(head_b),
    )


def _conv(step: ConvStep, put: Callable[[np.ndarray, str], int]) -> tuple[int, int, int]:
    # a gather row equal to the input length means "left padding" in the plan; it stays so here
    # weights transposed to (c_out, kernel * c_in): each output channel's row is contiguous
    return put(step.gather, "i"), put(step.weight.T, "f"), put(step.bias, "f")


@njit(cache=True, fastmath=_REASSOC)
def _conv_relu(h, n_in, c_in, g_off, w_off, b_off, n_out, c_out, k, floats, ints):  # pragma: no cover - numba
    """relu(causal convolution) at the planned output steps; taps at padding contribute zero.

    Each output step gathers its taps into one contiguous vector, then takes one dot product per
    output channel with that channel's contiguous weight row: loops the compiler vectorises."""
    width = k * c_in
    out = np.empty((n_out, c_out))
    g = np.empty(width)
    for o in range(n_out):
        for t in range(k):
            r = ints[g_off + o * k + t]
            for ci in range(c_in):
                g[t * c_in + ci] = h[r, ci] if r < n_in else 0.0
        for co in range(c_out):
            # a slice, so that the inner index is the loop's own: no wrap-around check, and the
            # compiler vectorises the dot product
            w = floats[w_off + co * width : w_off + (co + 1) * width]
            acc = floats[b_off + co]
            for j in range(width):
                acc += g[j] * w[j]
            out[o, co] = acc if acc > 0.0 else 0.0
    return out


@njit(cache=True, fastmath=_REASSOC)
def _forward(x, rows, mean, inv_std, floats, ints, meta, head_w, head_b):  # pragma: no cover - numba
    n_feat = x.shape[1]
    for i in range(x.shape[0]):  # every row, as the torch forward would see it
        for j in range(n_feat):
            if not math.isfinite(x[i, j]):
                return math.nan
    h = np.empty((rows.shape[0], n_feat))
    for i in range(rows.shape[0]):
        for j in range(n_feat):
            h[i, j] = (x[rows[i], j] - mean[j]) * inv_std[j]
    for b in range(meta.shape[0]):
        m = meta[b]
        n_in, c_in, n_mid, n_out, c_out, k = m[0], m[1], m[2], m[3], m[4], m[5]
        mid = _conv_relu(h, n_in, c_in, m[6], m[7], m[8], n_mid, c_out, k, floats, ints)
        out = _conv_relu(mid, n_mid, c_out, m[9], m[10], m[11], n_out, c_out, k, floats, ints)
        for o in range(n_out):
            r = ints[m[12] + o]
            for co in range(c_out):
                if m[13] < 0:
                    res = h[r, co]
                else:
                    res = floats[m[14] + co]
                    base = m[13] + co * c_in
                    for ci in range(c_in):
                        res += h[r, ci] * floats[base + ci]
                s = out[o, co] + res
                out[o, co] = s if s > 0.0 else 0.0
        h = out
    z = head_b
    for co in range(h.shape[1]):
        z += h[0, co] * head_w[co]
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
