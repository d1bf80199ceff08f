"""Shared network layers (used by every model family in engine/models/)."""

from .attention import RelativePositionBias, WindowAttention3D, WindowCrossAttention
from .blocks import ConvBlock, Mlp, PatchExpanding, PatchMerging, SwinBlock3D
from .window import effective_window, pad_to_window, window_partition, window_reverse

__all__ = [
    "ConvBlock",
    "Mlp",
    "PatchExpanding",
    "PatchMerging",
    "RelativePositionBias",
    "SwinBlock3D",
    "WindowAttention3D",
    "WindowCrossAttention",
    "effective_window",
    "pad_to_window",
    "window_partition",
    "window_reverse",
]
