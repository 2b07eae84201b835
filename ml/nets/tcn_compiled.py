"""The TCN's one-window forward compiled with numba: the realtime fast path of the sequence model.

:func:`ml.nets.tcn_numpy.plan_tcn` already reduces the network to the time steps the last logit
needs (~200-260 k multiply-adds for four 32-channel blocks over 12-32 features), but as numpy
calls that is ~60 small operations per window, ~130 us of per-call overhead. Here the same plan
is packed once into flat arrays and one compiled function runs the whole window: scaling, every
block, the head and the sigmoid.

The blocks run in float32, as the torch network does: its weights are float32, so packing them
loses nothing, and the probability stays within ~1.4e-7 of the torch forward (as the float64
version did: that is torch's own rounding). The scaling, the head and the sigmoid stay float64.
Each convolution gathers its taps into one contiguous row per output step, then takes dot products
with the output channels' contiguous weight rows two steps by four channels at a time: eight sums
share each load. Packing pads channel counts to a multiple of four and step counts to even, with
zero weights and padding taps, so the kernel has no remainder loops; the padded channels stay
exactly zero and the padded steps are never read. On the 2-core box, same window, min of many
runs at load ~4: 35 us per window for the float64 one-sum-per-load kernel, 23 us for this kernel
in float64, 16.5 us in float32.

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

# Columns of the per-block table ``meta``: sizes (padded), then offsets into the packed arrays.
(N_IN, C_IN, N_MID, N_OUT, C_OUT, KERNEL, G1, W1, B1, G2, W2, B2, SKIP_ROWS, SKIP_W, SKIP_B) = range(15)
N_META = 15
CH_BLOCK, STEP_BLOCK = 4, 2  # the kernel's register block: channels x steps
# Reassociation lets the compiler vectorise the dot products; the other fast-math flags would
# let it assume no NaN or inf, and the window's finiteness check must stay.
_REASSOC = {"reassoc", "contract", "nsz"}


@dataclass(frozen=True)
class PackedTCN:
    """A planned TCN as flat arrays: ``floats`` (float32 weights, biases), ``ints`` (gathers, skip rows),
    ``meta`` (one row per block, columns above; SKIP_W is -1 for an identity skip)."""

    rows: np.ndarray  # window rows the first block reads
    mean: np.ndarray
    inv_std: np.ndarray
    floats: np.ndarray
    ints: np.ndarray
    meta: np.ndarray
    head_w: np.ndarray  # padded like the last block's channels
    head_b: float

    def predict(self, x: np.ndarray) -> float:
        """P(label == 1) for a float64 window; NaN when the window holds NaN or inf."""
        return float(
            _forward(x, self.rows, self.mean, self.inv_std, self.floats, self.ints, self.meta,
                     self.head_w, self.head_b)
        )


def _up(n: int, block: int) -> int:
    return -(-n // block) * block


def pack_tcn(rows: np.ndarray, plan: list[BlockStep], mean: np.ndarray, inv_std: np.ndarray,
             head_w: np.ndarray, head_b: float) -> PackedTCN:
    """Flatten the plan of :func:`~ml.nets.tcn_numpy.plan_tcn` (in block order) for :func:`_forward`."""
    floats: list[np.ndarray] = []
    ints: list[np.ndarray] = []
    sizes = {"f": 0, "i": 0}

    def put(arr: np.ndarray, kind: str) -> int:
        target = floats if kind == "f" else ints
        flat = np.ascontiguousarray(arr, dtype=np.float32 if kind == "f" else np.int64).ravel()
        target.append(flat)
        offset = sizes[kind]
        sizes[kind] += flat.size
        return offset

    meta = np.zeros((len(plan), N_META), np.int64)
    n_in, c_in = len(rows), _up(len(mean), CH_BLOCK)
    for i, block in enumerate(plan):
        c1, c2 = block.conv1, block.conv2
        kernel = c1.gather.shape[1]
        c_out = _up(c1.weight.shape[1], CH_BLOCK)
        m = meta[i]
        m[N_IN], m[C_IN], m[N_MID], m[N_OUT], m[C_OUT], m[KERNEL] = (
            n_in, c_in, _up(len(c1.gather), STEP_BLOCK), _up(len(c2.gather), STEP_BLOCK), c_out, kernel)
        m[G1], m[W1], m[B1] = _conv(c1, n_in, c_in, c_out, put)
        m[G2], m[W2], m[B2] = _conv(c2, len(c1.gather), c_out, c_out, put)
        # a padded output step adds the residual of step 0: any row will do, it is never read
        m[SKIP_ROWS] = put(_pad(block.skip_rows, m[N_OUT]), "i")
        if block.skip_weight is None:
            m[SKIP_W], m[SKIP_B] = -1, -1
        else:
            m[SKIP_W] = put(_pad(block.skip_weight, c_in, c_out).T, "f")
            m[SKIP_B] = put(_pad(block.skip_bias, c_out), "f")  # type: ignore[arg-type]
        n_in, c_in = len(c2.gather), c_out
    return PackedTCN(
        rows=np.ascontiguousarray(rows, np.int64), mean=np.ascontiguousarray(mean, np.float64),
        inv_std=np.ascontiguousarray(inv_std, np.float64),
        floats=np.concatenate(floats) if floats else np.zeros(0),
        ints=np.concatenate(ints) if ints else np.zeros(0, np.int64), meta=meta,
        head_w=_pad(np.asarray(head_w, np.float64), c_in), head_b=float(head_b),
    )


def _pad(a: np.ndarray, *shape: int) -> np.ndarray:
    """``a`` in the top-left corner of zeros of ``shape``."""
    out = np.zeros(shape)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def _conv(step: ConvStep, n_in: int, c_in: int, c_out: int,
          put: Callable[[np.ndarray, str], int]) -> tuple[int, int, int]:
    n_out, kernel = step.gather.shape
    # the plan's padding row (index n_in) becomes -1: the packed input has padded steps there;
    # padded output steps read only padding (their output is never read)
    gather = np.full((_up(n_out, STEP_BLOCK), kernel), -1, np.int64)
    gather[:n_out] = np.where(step.gather < n_in, step.gather, -1)
    # weights (kernel * c_in_real, c_out_real) -> (c_out, kernel * c_in): one contiguous row per
    # output channel, zeros at the padded input and output channels
    real_c_in = step.weight.shape[0] // kernel
    w = _pad(step.weight.reshape(kernel, real_c_in, -1), kernel, c_in, c_out).reshape(kernel * c_in, c_out)
    return put(gather, "i"), put(w.T, "f"), put(_pad(step.bias, c_out), "f")


@njit(cache=True, fastmath=_REASSOC)
def _conv_relu(h, c_in, gather, w, bias, n_out, c_out, k):  # pragma: no cover - numba
    """relu(causal convolution) at the planned output steps; taps at padding (-1) read zeros.

    Each output step's taps are gathered into one contiguous row; then for two steps and four
    output channels at a time the eight dot products run in one loop: the compiler vectorises
    each and every load serves several of them."""
    width = k * c_in
    g = np.empty((n_out, width), np.float32)
    for o in range(n_out):
        for t in range(k):
            r = gather[o * k + t]
            # explicit loops: a slice assignment per tap costs more than the copy itself
            if r < 0:
                for ci in range(c_in):
                    g[o, t * c_in + ci] = 0.0
            else:
                for ci in range(c_in):
                    g[o, t * c_in + ci] = h[r, ci]
    out = np.empty((n_out, c_out), np.float32)
    w = w[: c_out * width].reshape(c_out, width)
    for o in range(0, n_out, 2):
        for co in range(0, c_out, 4):
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = np.float32(0.0)
            for j in range(width):
                x0, x1 = g[o, j], g[o + 1, j]
                a0 += x0 * w[co, j]
                a1 += x0 * w[co + 1, j]
                a2 += x0 * w[co + 2, j]
                a3 += x0 * w[co + 3, j]
                b0 += x1 * w[co, j]
                b1 += x1 * w[co + 1, j]
                b2 += x1 * w[co + 2, j]
                b3 += x1 * w[co + 3, j]
            out[o, co] = max(a0 + bias[co], 0.0)
            out[o, co + 1] = max(a1 + bias[co + 1], 0.0)
            out[o, co + 2] = max(a2 + bias[co + 2], 0.0)
            out[o, co + 3] = max(a3 + bias[co + 3], 0.0)
            out[o + 1, co] = max(b0 + bias[co], 0.0)
            out[o + 1, co + 1] = max(b1 + bias[co + 1], 0.0)
            out[o + 1, co + 2] = max(b2 + bias[co + 2], 0.0)
            out[o + 1, co + 3] = max(b3 + bias[co + 3], 0.0)
    return out


@njit(cache=True, fastmath=_REASSOC)
def _add_residual_relu(out, h, rows, w_off, b_off, floats):  # pragma: no cover - numba
    """out = relu(out + skip(h[rows])): the identity, or a 1x1 convolution when ``w_off >= 0``."""
    c_in, c_out = h.shape[1], out.shape[1]
    if w_off < 0:
        for o in range(out.shape[0]):
            r = rows[o]
            for co in range(c_out):
                out[o, co] = max(out[o, co] + h[r, co], 0.0)
        return
    w = floats[w_off : w_off + c_out * c_in].reshape(c_out, c_in)
    for o in range(out.shape[0]):
        r = rows[o]
        for co in range(c_out):
            res = floats[b_off + co]
            for ci in range(c_in):
                res += h[r, ci] * w[co, ci]
            out[o, co] = max(out[o, co] + res, 0.0)


@njit(cache=True, fastmath=_REASSOC)
def _forward(x, rows, mean, inv_std, floats, ints, meta, head_w, head_b):  # pragma: no cover - numba
    n_feat = x.shape[1]
    for i in range(x.shape[0]):  # every row, as the torch forward would see it
        for j in range(n_feat):
            if not math.isfinite(x[i, j]):
                return math.nan
    h = np.zeros((rows.shape[0], meta[0, 1]), np.float32)  # padded input channels stay zero
    for i in range(rows.shape[0]):
        for j in range(n_feat):
            h[i, j] = (x[rows[i], j] - mean[j]) * inv_std[j]
    for b in range(meta.shape[0]):
        m = meta[b]
        c_in, n_mid, n_out, c_out, k = m[1], m[2], m[3], m[4], m[5]
        mid = _conv_relu(h, c_in, ints[m[6]:], floats[m[7]:], floats[m[8]:], n_mid, c_out, k)
        out = _conv_relu(mid, c_out, ints[m[9]:], floats[m[10]:], floats[m[11]:], n_out, c_out, k)
        _add_residual_relu(out, h, ints[m[12] : m[12] + n_out], m[13], m[14], floats)
        h = out
    z = head_b
    for co in range(h.shape[1]):
        z += h[0, co] * head_w[co]
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
