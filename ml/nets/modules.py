"""The torch networks behind the classifiers. Only fitting and batch prediction import this module
(and so torch): a fitted classifier pickles its weights as numpy arrays and serves one row in numpy.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class MLPNet(nn.Module):
    """Linear -> ReLU (-> Dropout) per hidden width, then a linear logit. Input (batch, features)."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(-1)


class CausalBlock(nn.Module):
    """Two dilated causal convolutions with a residual connection (the TCN building block)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        # left padding only: the output at step t sees inputs up to t, never later ones
        self.pad = (kernel_size - 1) * dilation
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, dilation=dilation)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.conv1(nn.functional.pad(x, (self.pad, 0)))))
        h = self.drop(torch.relu(self.conv2(nn.functional.pad(h, (self.pad, 0)))))
        return torch.relu(h + self.skip(x))


def tcn_levels(lookback: int, kernel_size: int) -> int:
    """Fewest blocks (dilations 1, 2, 4, ...) whose receptive field covers ``lookback`` steps."""
    levels = 1
    # each block has two convolutions, so block i widens the field by 2 * (k - 1) * 2**i
    while 1 + 2 * (kernel_size - 1) * (2**levels - 1) < lookback:
        levels += 1
    return levels


class TCNNet(nn.Module):
    """Causal blocks over a (batch, lookback, features) window; the logit is read at the last step."""

    def __init__(
        self, n_features: int, lookback: int, channels: int = 32, kernel_size: int = 3, dropout: float = 0.1
    ):
        super().__init__()
        blocks = []
        c_in = n_features
        for level in range(tcn_levels(lookback, kernel_size)):
            blocks.append(CausalBlock(c_in, channels, kernel_size, 2**level, dropout))
            c_in = channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x.transpose(1, 2))  # Conv1d wants (batch, channels, time)
        return self.head(h[:, :, -1]).squeeze(-1)


def numpy_weights(net: nn.Module) -> dict[str, np.ndarray]:
    """The network's state as numpy copies, in ``state_dict`` order (what a pickle keeps)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def load_numpy_weights(net: nn.Module, weights: dict[str, np.ndarray]) -> nn.Module:
    """``net`` (freshly built, same shape) holding ``weights``, on the CPU in eval mode."""
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    return net.float().eval()
