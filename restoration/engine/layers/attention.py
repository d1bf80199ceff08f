"""Window self-attention (3D, with relative position bias) and window cross-attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .window import Size3, relative_position_index


class RelativePositionBias(nn.Module):
    """Learned bias per head for each relative (dt, dy, dx) offset inside a window."""

    def __init__(self, window: Size3, heads: int) -> None:
        super().__init__()
        self.window: Size3 = window
        entries = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.table = nn.Parameter(torch.zeros(entries, heads))
        nn.init.trunc_normal_(self.table, std=0.02)

    def forward(self, window: Size3) -> torch.Tensor:
        index = relative_position_index(window, self.window).to(self.table.device)
        n = index.shape[0]
        bias = self.table[index.reshape(-1)].reshape(n, n, -1)
        return bias.permute(2, 0, 1)  # (heads, N, N)


class WindowAttention3D(nn.Module):
    """Multi-head self-attention inside windows: tokens (b, n_windows, N, c)."""

    def __init__(self, dim: int, heads: int, window: Size3) -> None:
        super().__init__()
        assert dim % heads == 0, f"dim {dim} must be divisible by heads {heads}"
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.bias = RelativePositionBias(window, heads)

    def forward(
        self, tokens: torch.Tensor, window: Size3, mask: torch.Tensor | None
    ) -> torch.Tensor:
        b, n_windows, n, c = tokens.shape
        qkv = self.qkv(tokens).reshape(b, n_windows, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (b, nW, heads, N, hd)
        bias = self.bias(window).to(q.dtype)[None, None]  # (1, 1, heads, N, N)
        if mask is not None:
            bias = bias + mask.to(q.dtype)[None, :, None]  # (1, nW, heads, N, N)
        hd = c // self.heads
        if mask is None:
            mask_4d = bias[0]  # (1, heads, N, N): broadcasts over windows without a copy
        elif b == 1:
            mask_4d = bias[0]  # (nW, heads, N, N)
        else:
            mask_4d = bias.expand(b, -1, -1, -1, -1).reshape(-1, self.heads, n, n)
        attn = F.scaled_dot_product_attention(
            q.reshape(-1, self.heads, n, hd),
            k.reshape(-1, self.heads, n, hd),
            v.reshape(-1, self.heads, n, hd),
            attn_mask=mask_4d,
        ).reshape(b, n_windows, self.heads, n, hd)
        out = attn.transpose(2, 3).reshape(b, n_windows, n, c)
        return self.proj(out)


class WindowCrossAttention(nn.Module):
    """Queries from a frame's window attend to the same-position window of each reference.

    query (b, nW, Nq, c), context (b, D, nW, Nk, c) -> (b, D, nW, Nq, c): one result per
    reference, *before* the output projection: callers that merge the D results with weights
    summing to one apply `proj` once after merging (the same thing, D times cheaper).
    """

    def __init__(self, dim: int, heads: int, window: Size3) -> None:
        super().__init__()
        assert dim % heads == 0, f"dim {dim} must be divisible by heads {heads}"
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.bias = RelativePositionBias(window, heads)

    def forward(
        self, query: torch.Tensor, context: torch.Tensor, query_window: Size3, key_window: Size3
    ) -> torch.Tensor:
        b, n_windows, nq, c = query.shape
        d, nk = context.shape[1], context.shape[3]
        hd = c // self.heads
        q = self.q(query).reshape(b, 1, n_windows, nq, self.heads, hd).permute(0, 1, 2, 4, 3, 5)
        kv = self.kv(context).reshape(b, d, n_windows, nk, 2, self.heads, hd)
        k, v = kv.permute(4, 0, 1, 2, 5, 3, 6).unbind(0)  # (b, D, nW, heads, Nk, hd)
        # Bias by spatial offset between query and key positions (same window location).
        bias = _cross_bias(self.bias, query_window, key_window).to(q.dtype)  # (heads, Nq, Nk)
        attn = F.scaled_dot_product_attention(
            q.expand(b, d, n_windows, self.heads, nq, hd).reshape(-1, self.heads, nq, hd),
            k.reshape(-1, self.heads, nk, hd),
            v.reshape(-1, self.heads, nk, hd),
            attn_mask=bias[None],  # 4D, so the fused CPU kernel takes it
        )
        out = attn.reshape(b, d, n_windows, self.heads, nq, hd).transpose(3, 4)
        return out.reshape(b, d, n_windows, nq, c)


def _cross_bias(
    table: RelativePositionBias, query_window: Size3, key_window: Size3
) -> torch.Tensor:
    """Bias for queries of a (t, h, w) window against keys of a (1, h, w) window.

    Every query frame sees the reference window as if it were its own frame: the bias depends on
    the spatial offset only (the table is built with a temporal extent of 1).
    """
    full = table(key_window)  # (heads, Nk, Nk) for the spatial window
    repeats = query_window[0]
    return full.repeat(1, repeats, 1)  # (heads, t*Nk, Nk)
