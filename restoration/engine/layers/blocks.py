"""Building blocks: MLP, Swin-3D block, convolutional block, patch merging / expanding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .attention import WindowAttention3D
from .window import (
    Size3,
    effective_window,
    pad_to_window,
    shift_mask,
    window_partition,
    window_reverse,
)


class Mlp(nn.Module):
    def __init__(self, dim: int, ratio: float) -> None:
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock3D(nn.Module):
    """Pre-norm (shifted) window attention + MLP on (b, t, h, w, c)."""

    def __init__(
        self, dim: int, heads: int, window: Size3, shifted: bool, mlp_ratio: float
    ) -> None:
        super().__init__()
        self.window: Size3 = window
        self.shift: Size3 = (
            (window[0] // 2, window[1] // 2, window[2] // 2) if shifted else (0, 0, 0)
        )
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, heads, self.window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, t, h, w, _ = x.shape
        window, shift = effective_window((t, h, w), self.window, self.shift)
        y, pads = pad_to_window(self.norm1(x), window)
        padded = (t + pads[0], h + pads[1], w + pads[2])
        mask = None
        if any(shift):
            y = torch.roll(y, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
            mask = shift_mask(padded, window, shift).to(y.device)
        y = self.attn(window_partition(y, window), window, mask)
        y = window_reverse(y, window, padded)
        if any(shift):
            y = torch.roll(y, shifts=shift, dims=(1, 2, 3))
        x = x + y[:, :t, :h, :w]
        return x + self.mlp(self.norm2(x))


class ConvBlock(nn.Module):
    """Residual 3x3 conv block on each frame, with a temporal shift of a quarter of the channels.

    Temporal shift (TSM) mixes neighbouring frames at zero FLOPs; convolutions are much cheaper
    than attention at the finest scale on a CPU.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, 3, padding=1)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        y = _temporal_shift(x)
        y = rearrange(y, "b t h w c -> (b t) c h w")
        y = self.conv2(self.act(self.conv1(y)))
        return x + rearrange(y, "(b t) c h w -> b t h w c", b=b)


def _temporal_shift(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    fold = x.shape[-1] // 8
    back = F.pad(x[:, 1:, ..., :fold], (0, 0, 0, 0, 0, 0, 0, 1))
    forward = F.pad(x[:, :-1, ..., fold : 2 * fold], (0, 0, 0, 0, 0, 0, 1, 0))
    return torch.cat([back, forward, x[..., 2 * fold :]], dim=-1)


class PatchMerging(nn.Module):
    """Halve h and w: concatenate 2x2 neighbours, normalise, project to `out_dim`."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0, f"odd spatial size {tuple(x.shape)}"
        x = rearrange(x, "b t (h p1) (w p2) c -> b t h w (p1 p2 c)", p1=2, p2=2)
        return self.reduction(self.norm(x))


class PatchExpanding(nn.Module):
    """Double h and w: project to 4x `out_dim`, pixel-shuffle, normalise."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.expand = nn.Linear(dim, 4 * out_dim, bias=False)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = rearrange(self.expand(x), "b t h w (p1 p2 c) -> b t (h p1) (w p2) c", p1=2, p2=2)
        return self.norm(x)
