"""TAPE-style network: a U-Net of 3D Swin blocks with Multi-Reference Spatial Feature Fusion.

After "Reference-based Restoration of Digitized Analog Videotapes" (WACV 2024), in our own
code, defined bottom-up: fusion (MRSFF) -> stage -> network. Differences from the paper, by
design for an offline, CPU-friendly product:
- Reference features come from this network's own encoder (shared weights, each reference
  encoded as a single frame), not from a frozen ImageNet Swin-T.
- Levels can be convolutional (`"conv"`, with temporal shift) instead of attention: tape-lite
  uses them at the finest scale, where window attention costs most on a CPU.
- The stem is a pixel-unshuffle by `stem_stride` followed by a 3x3 conv (for stride 2 this is
  a strided conv stem in disguise); the head mirrors it; output = input + predicted residual.
- Optional full-resolution refinement (`"refine": {"guide": G, "channels": C}`): a coarse
  residual from a stride-4 head is rank-limited (32 features cannot describe the 48 values of
  every 4x4 patch), so per-pixel grain survives it. A 1x1 conv turns the last decoder features
  into G guidance maps at full resolution (pixel shuffle), and three 3x3 convs over [input,
  coarse output, guidance] add a per-pixel correction. Its last conv starts at zero, so a
  network trained without it can be extended and fine-tuned (`train --init`).
Time is never downsampled: merges and expansions act on height and width only.
"""

from __future__ import annotations

import abc
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..layers import (
    ConvBlock,
    PatchExpanding,
    PatchMerging,
    SwinBlock3D,
    WindowCrossAttention,
    effective_window,
    pad_to_window,
    window_partition,
    window_reverse,
)
from ..layers.window import Size3


class MultiReferenceFusion(nn.Module):
    """MRSFF: window cross-attention to each of D references, then attention pooling over D.

    Each (t, wh, ww) query window attends to the same-position (1, wh, ww) window of every
    reference separately; the D results are merged by attention whose query is their mean.
    """

    def __init__(self, dim: int, heads: int, window: tuple[int, int]) -> None:
        super().__init__()
        self.window: tuple[int, int] = (int(window[0]), int(window[1]))
        self.heads = heads
        self.norm_query = nn.LayerNorm(dim)
        self.norm_reference = nn.LayerNorm(dim)
        self.cross = WindowCrossAttention(dim, heads, (1, *self.window))
        self.pool_query = nn.Linear(dim, dim)
        self.pool_key = nn.Linear(dim, dim, bias=False)  # a key bias cancels in the softmax
        # No MLP of its own: the decoder stage that follows every fusion has MLPs (saves the
        # single most expensive op of the fusion at fine scales).

    def forward(self, x: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
        """x (b, t, h, w, c), references (b, d, h, w, c) -> (b, t, h, w, c)."""
        b, t, h, w, c = x.shape
        assert references.shape[0] == b and references.shape[2:] == (h, w, c), (
            f"reference features {tuple(references.shape)} don't match frames {tuple(x.shape)}"
        )
        (_, wh, ww), _ = effective_window((t, h, w), (t, *self.window), (0, 0, 0))
        query_window: Size3 = (t, wh, ww)
        key_window: Size3 = (1, wh, ww)
        query, pads = pad_to_window(self.norm_query(x), query_window)
        keys, _ = pad_to_window(
            rearrange(self.norm_reference(references), "b d h w c -> (b d) 1 h w c"), key_window
        )
        query_tokens = window_partition(query, query_window)  # (b, nW, t*N, c)
        key_tokens = rearrange(window_partition(keys, key_window), "(b d) n k c -> b d n k c", b=b)
        per_reference = self.cross(query_tokens, key_tokens, query_window, key_window)
        fused = self._pool(per_reference)
        padded = (t + pads[0], h + pads[1], w + pads[2])
        fused = window_reverse(fused, query_window, padded)[:, :t, :h, :w]
        return x + self.cross.proj(fused)

    def _pool(self, per_reference: torch.Tensor) -> torch.Tensor:
        """Attention pooling over references (dim 1); the mean over references is the query.

        score(d, head) = <Wq m + bq, Wk o_d + bk>_head / sqrt(hd). Folding Wk into the query
        (u = Wk_head^T (Wq m + bq)_head) gives the same scores without projecting all D results;
        the <q, bk> term is the same for every d and cancels in the softmax.
        """
        c = per_reference.shape[-1]
        hd = c // self.heads
        query = self.pool_query(per_reference.mean(1)).unflatten(-1, (self.heads, hd))
        key_weight = self.pool_key.weight.unflatten(0, (self.heads, hd))  # (heads, hd, c)
        folded = torch.einsum("...hk,hkc->...hc", query, key_weight)  # (b, nW, tN, heads, c)
        scores = torch.einsum("b...hc,bd...c->bd...h", folded, per_reference) / hd**0.5
        weights = scores.softmax(dim=1)  # (b, d, nW, tN, heads)
        pooled = torch.einsum(
            "bd...h,bd...hk->b...hk", weights, per_reference.unflatten(-1, (self.heads, hd))
        )
        return pooled.flatten(-2)


class FullResolutionRefine(nn.Module):
    """Per-frame correction at full resolution from [input, coarse output, guidance maps]."""

    def __init__(self, features: int, stride: int, guide: int, channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.guide = nn.Conv2d(features, guide * stride**2, 1)
        self.body = nn.Sequential(
            nn.Conv2d(6 + guide, channels, 3, padding=1),
            nn.ReLU(),  # GELU costs ~10% more at full resolution for no measurable gain
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 3, 3, padding=1),
        )
        last = self.body[-1]
        assert isinstance(last, nn.Conv2d)
        nn.init.zeros_(last.weight)  # starts as "no correction": the coarse output passes through
        assert last.bias is not None, "the refinement's last convolution has a bias"
        nn.init.zeros_(last.bias)

    def forward(
        self, frames: torch.Tensor, coarse: torch.Tensor, features: torch.Tensor
    ) -> torch.Tensor:
        """frames, coarse (n, 3, h, w); features (n, c, h/s, w/s) -> refined (n, 3, h, w).

        Inference runs it one frame at a time: its full-resolution activations were the peak
        of a whole window's memory (SD, 5 frames: +364 MB per window at once, +46-109 MB frame
        by frame, and a little faster). Training keeps the batch (small crops, one backward)."""
        if self.training or frames.shape[0] == 1:
            return self._refine(frames, coarse, features)
        return torch.cat(
            [
                self._refine(frames[i : i + 1], coarse[i : i + 1], features[i : i + 1])
                for i in range(frames.shape[0])
            ]
        )

    def _refine(
        self, frames: torch.Tensor, coarse: torch.Tensor, features: torch.Tensor
    ) -> torch.Tensor:
        guide = F.pixel_shuffle(self.guide(features), self.stride)
        x = torch.cat([frames, coarse, guide], dim=1)
        # channels-last: thin full-resolution convs run ~1.8x faster that way on CPUs.
        correction = self.body(x.contiguous(memory_format=torch.channels_last))
        return coarse + correction.contiguous()


class Stage(nn.Module):
    """`depth` blocks at one scale: convolutional, or Swin-3D alternating regular/shifted."""

    def __init__(
        self, kind: str, dim: int, depth: int, heads: int, window: Size3, mlp_ratio: float
    ):
        super().__init__()
        blocks: list[nn.Module] = []
        for index in range(depth):
            if kind == "conv":
                blocks.append(ConvBlock(dim))
            else:
                blocks.append(
                    SwinBlock3D(dim, heads, window, shifted=index % 2 == 1, mlp_ratio=mlp_ratio)
                )
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class RestorationNet(nn.Module, metaclass=abc.ABCMeta):
    """What inference relies on: a JSON `config` (window, references, pad_multiple, name), an
    optional checkpoint `card`, a forward over windows and a reference encoder. Abstract: each
    architecture (see factory.ARCHITECTURES) implements both methods."""

    config: dict[str, Any]
    card: dict[str, Any] | None = None

    @abc.abstractmethod
    def encode_references(self, references: torch.Tensor) -> dict[int, torch.Tensor]:
        """Encoder features of the reference frames, per decoder scale."""

    @abc.abstractmethod
    def forward(
        self,
        frames: torch.Tensor,
        references: torch.Tensor | None = None,
        *,
        reference_features: dict[int, torch.Tensor] | None = None,
        outputs: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Restore a window: frames (b,t,3,h,w) in [0,1] -> (b,t,3,h,w); with `outputs`
        (begin, end), only those frames of the window are produced (b,end-begin,3,h,w), which
        spares the output layers for frames inference throws away."""


class TapeNet(RestorationNet):
    """U-Net over a window of frames: model(frames (b,t,3,h,w), references (b,d,3,h,w) | None)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        dims: list[int] = config["dims"]
        depths: list[int] = config["depths"]
        kinds: list[str] = config["block_types"]
        heads: list[int] = config["heads"]
        wt, wh, ww = (int(v) for v in config["window_size"])
        window: Size3 = (wt, wh, ww)
        mlp_ratio = float(config.get("mlp_ratio", 4.0))
        decoder_depths: list[int] = config.get("decoder_depths", depths[:-1])
        self.levels = len(dims)
        self.stride = int(config["stem_stride"])
        self.fusion_levels = sorted(int(level) for level in config.get("fusion_levels", []))
        self.config.setdefault("pad_multiple", self.stride * 2 ** (self.levels - 1))

        self.stem = nn.Conv2d(3 * self.stride**2, dims[0], 3, padding=1)
        self.encoder = nn.ModuleList(
            Stage(kinds[i], dims[i], depths[i], heads[i], window, mlp_ratio)
            for i in range(self.levels)
        )
        self.merges = nn.ModuleList(
            PatchMerging(dims[i], dims[i + 1]) for i in range(self.levels - 1)
        )
        self.expands = nn.ModuleList(
            PatchExpanding(dims[i + 1], dims[i]) for i in range(self.levels - 1)
        )
        self.skip_fusions = nn.ModuleList(
            nn.Linear(2 * dims[i], dims[i]) for i in range(self.levels - 1)
        )
        self.decoder = nn.ModuleList(
            Stage(kinds[i], dims[i], decoder_depths[i], heads[i], window, mlp_ratio)
            for i in range(self.levels - 1)
        )
        self.fusions = nn.ModuleDict(
            {
                str(level): MultiReferenceFusion(dims[level], heads[level], window[1:])
                for level in self.fusion_levels
            }
        )
        self.head = nn.Conv2d(dims[0], 3 * self.stride**2, 3, padding=1)
        refine = config.get("refine")
        self.refine = (
            FullResolutionRefine(
                dims[0], self.stride, int(refine["guide"]), int(refine["channels"])
            )
            if refine
            else None
        )
        self.apply(_init_weights)

    # Encoder pieces shared by frames and references.
    def _stem(self, frames: torch.Tensor) -> torch.Tensor:
        b = frames.shape[0]
        x = F.pixel_unshuffle(rearrange(frames, "b t c h w -> (b t) c h w"), self.stride)
        return rearrange(self.stem(x), "(b t) c h w -> b t h w c", b=b)

    def _check(self, frames: torch.Tensor, what: str) -> None:
        assert frames.ndim == 5 and frames.shape[2] == 3, (
            f"{what} must be (b, n, 3, h, w), got {tuple(frames.shape)}"
        )
        multiple = self.config["pad_multiple"]
        assert frames.shape[-2] % multiple == 0 and frames.shape[-1] % multiple == 0, (
            f"{what} height and width must be multiples of {multiple}, "
            f"got {tuple(frames.shape[-2:])}"
        )

    def encode_references(self, references: torch.Tensor) -> dict[int, torch.Tensor]:
        """Reference features per fusion level, each (b, d, h_l, w_l, c_l); frames encoded alone."""
        self._check(references, "references")
        b = references.shape[0]
        x = self._stem(rearrange(references, "b d c h w -> (b d) 1 c h w"))
        features: dict[int, torch.Tensor] = {}
        last = max(self.fusion_levels, default=-1)
        for level in range(last + 1):
            x = self.encoder[level](x)
            if level in self.fusion_levels:
                features[level] = rearrange(x, "(b d) 1 h w c -> b d h w c", b=b)
            if level < last:
                x = self.merges[level](x)
        return features

    def forward(
        self,
        frames: torch.Tensor,
        references: torch.Tensor | None = None,
        *,
        reference_features: dict[int, torch.Tensor] | None = None,
        outputs: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        self._check(frames, "frames")
        if reference_features is None and references is not None:
            reference_features = self.encode_references(references)
        b = frames.shape[0]
        x = self._stem(frames)
        skips = []
        for level in range(self.levels):
            x = self.encoder[level](x)
            if level < self.levels - 1:
                skips.append(x)
                x = self.merges[level](x)
        x = self._fuse(x, self.levels - 1, reference_features)
        for level in reversed(range(self.levels - 1)):
            x = self.expands[level](x)
            x = self.skip_fusions[level](torch.cat([x, skips[level]], dim=-1))
            x = self._fuse(x, level, reference_features)
            x = self.decoder[level](x)
        if outputs is not None:
            x, frames = x[:, outputs[0] : outputs[1]], frames[:, outputs[0] : outputs[1]]
        features = rearrange(x, "b t h w c -> (b t) c h w")
        flat = rearrange(frames, "b t c h w -> (b t) c h w")
        restored = flat + F.pixel_shuffle(self.head(features), self.stride)
        if self.refine is not None:
            restored = self.refine(flat, restored, features)
        return rearrange(restored, "(b t) c h w -> b t c h w", b=b)

    def _fuse(
        self, x: torch.Tensor, level: int, features: dict[int, torch.Tensor] | None
    ) -> torch.Tensor:
        if features is None or str(level) not in self.fusions:
            return x  # no references: the ablation path, plain multi-frame restoration
        return self.fusions[str(level)](x, features[level])


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
