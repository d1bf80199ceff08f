"""Window helpers for 3D (time x height x width) window attention, after Video Swin.

Tensors are channels-last `(b, t, h, w, c)` inside attention stages.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from einops import rearrange

Size3 = tuple[int, int, int]


def effective_window(size: Size3, window: Size3, shift: Size3) -> tuple[Size3, Size3]:
    """Clip the window to the input and drop the shift along axes the window already covers."""
    eff_window = tuple(min(s, w) for s, w in zip(size, window, strict=True))
    eff_shift = tuple(0 if s <= w else sh for s, w, sh in zip(size, window, shift, strict=True))
    return eff_window, eff_shift  # type: ignore[return-value]


def pad_to_window(x: torch.Tensor, window: Size3) -> tuple[torch.Tensor, Size3]:
    """Zero-pad (b, t, h, w, c) at the end of t, h, w to multiples of the window."""
    _, t, h, w, _ = x.shape
    pads = tuple((-s) % ws for s, ws in zip((t, h, w), window, strict=True))
    if any(pads):
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
    return x, pads  # type: ignore[return-value]


def window_partition(x: torch.Tensor, window: Size3) -> torch.Tensor:
    """(b, t, h, w, c) -> (b, n_windows, tokens_per_window, c)."""
    wt, wh, ww = window
    return rearrange(
        x, "b (nt wt) (nh wh) (nw ww) c -> b (nt nh nw) (wt wh ww) c", wt=wt, wh=wh, ww=ww
    )


def window_reverse(windows: torch.Tensor, window: Size3, size: Size3) -> torch.Tensor:
    """(b, n_windows, tokens_per_window, c) -> (b, t, h, w, c)."""
    wt, wh, ww = window
    t, h, w = size
    return rearrange(
        windows,
        "b (nt nh nw) (wt wh ww) c -> b (nt wt) (nh wh) (nw ww) c",
        nt=t // wt,
        nh=h // wh,
        nw=w // ww,
        wt=wt,
        wh=wh,
        ww=ww,
    )


def relative_position_index(window: Size3, table_window: Size3) -> torch.Tensor:
    """Index into a bias table sized for `table_window`, for the (possibly clipped) `window`."""
    # Cached tensors must be ordinary ones: made under inference_mode they could not be used
    # by a later training step in the same process.
    with torch.inference_mode(False):
        return _relative_position_index(window, table_window)


@lru_cache(maxsize=64)
def _relative_position_index(window: Size3, table_window: Size3) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(*(torch.arange(s) for s in window), indexing="ij")).flatten(
        1
    )  # (3, N)
    relative = coords[:, :, None] - coords[:, None, :]  # (3, N, N)
    relative = relative.permute(1, 2, 0)
    for axis, size in enumerate(table_window):
        relative[..., axis] += size - 1
    index = (
        relative[..., 0] * (2 * table_window[1] - 1) * (2 * table_window[2] - 1)
        + relative[..., 1] * (2 * table_window[2] - 1)
        + relative[..., 2]
    )
    return index


def shift_mask(padded_size: Size3, window: Size3, shift: Size3) -> torch.Tensor:
    """Additive mask (n_windows, N, N): -inf-like between tokens from different shifted regions."""
    with torch.inference_mode(False):
        return _shift_mask(padded_size, window, shift)


@lru_cache(maxsize=64)
def _shift_mask(padded_size: Size3, window: Size3, shift: Size3) -> torch.Tensor:
    region = torch.zeros((1, *padded_size, 1))
    label = 0
    slices_per_axis = [
        ((0, -ws), (-ws, -sh), (-sh, None)) if sh > 0 else ((0, None),)
        for ws, sh in zip(window, shift, strict=True)
    ]
    for t0, t1 in slices_per_axis[0]:
        for h0, h1 in slices_per_axis[1]:
            for w0, w1 in slices_per_axis[2]:
                region[:, t0:t1, h0:h1, w0:w1, :] = label
                label += 1
    labels = window_partition(region, window).squeeze(0).squeeze(-1)  # (nW, N)
    differs = labels[:, :, None] != labels[:, None, :]
    return torch.zeros(differs.shape).masked_fill(differs, -100.0)
