"""Fidelity by design: what the network may not change, and how much of its change to keep.

An archive's first rule is to do no harm. A restoration network trained on simulated damage can
pick up habits that are wrong on real tapes, the worst being a colour cast: on damage it was not
trained on, it shifted the mean colour of whole frames by several levels. Two guards sit between
the network and the written frame:

Colour guard (:func:`colour_guard`, on by default)
    Where the network changed a pixel by no more than the noise it removed (a robust, per-frame
    threshold on the difference), that difference is noise or nothing, and its local mean must
    be zero: tape noise has no colour of its own. The guard measures that shift per colour
    channel as a median (robust to the clipping of noise at black and white): for the whole
    frame over its rows, and on a coarse grid of blocks (about 64 pixels wide) for regional
    departures of at most a few levels; it smooths them into a low-frequency field and adds it
    back, so the output keeps the input's colour balance and brightness
    everywhere outside the damage, while dropouts, lines and mistracking (large differences,
    excluded from the measurement) stay repaired. The field is bounded (``max_shift``): the
    guard never re-adds damage.

Strength (:func:`apply_strength`)
    ``output = input + strength x (restored - input)``: 1 keeps all of the network's change,
    0.5 half of it (gentle: more of the original grain, nothing invented), 0 returns the input.
    Named levels are in :data:`STRENGTHS`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .strengths import DEFAULT_STRENGTH, STRENGTHS, parse_strength

__all__ = [
    "DEFAULT_STRENGTH",
    "STRENGTHS",
    "apply_strength",
    "colour_guard",
    "parse_strength",
]

BLOCK = 64  # pixels per block of the colour measurement grid
MAX_SHIFT = 16.0 / 255.0  # largest correction the guard applies (levels on a 0..1 scale)
LOCAL_SHIFT = 6.0 / 255.0  # largest departure of a region's correction from the frame's
_MAD_TO_SIGMA = 1.4826


def _block_medians(
    values: torch.Tensor, quiet: torch.Tensor, block: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-block medians of ``values`` (n, c, h, w) over the quiet pixels, and the quiet share.

    Medians, not means: tape noise is clipped at black and white, which biases a mean (the
    network rightly removes that bias) but not a median.
    """
    n, c, h, w = values.shape
    gh, gw = max(1, round(h / block)), max(1, round(w / block))
    bh, bw = -(-h // gh), -(-w // gw)  # block size that covers the frame in gh x gw blocks
    pad = (0, gw * bw - w, 0, gh * bh - h)
    masked = torch.where(quiet.bool(), values, torch.full_like(values, float("nan")))
    masked = F.pad(masked, pad, value=float("nan"))
    blocks = masked.view(n, c, gh, bh, gw, bw).permute(0, 1, 2, 4, 3, 5).reshape(n, c, gh, gw, -1)
    medians = blocks.nanmedian(dim=-1).values
    share = (~blocks[:, :1].isnan()).float().mean(dim=-1)
    return medians, share


def colour_guard(
    restored: torch.Tensor,
    degraded: torch.Tensor,
    *,
    max_shift: float = MAX_SHIFT,
    local_shift: float = LOCAL_SHIFT,
) -> torch.Tensor:
    """``restored`` with the low-frequency colour shift it shows against ``degraded`` removed.

    Both are (n, 3, h, w) on a 0..1 scale. See the module docstring.
    """
    assert restored.shape == degraded.shape and restored.ndim == 4, (
        f"expected two (n, 3, h, w) tensors of one shape, got {tuple(restored.shape)} "
        f"and {tuple(degraded.shape)}"
    )
    n, c, h, w = restored.shape
    # Statistics from every other pixel in each direction: 4x cheaper, and ample samples
    # (about 1,000 per block) for a median.
    diff = (degraded[..., ::2, ::2] - restored[..., ::2, ::2]).float()
    # Robust centre and noise scale per frame and channel: median and median absolute deviation.
    flat = diff[..., ::2, ::2].flatten(2)  # the frame-wide scale needs fewer samples still
    median = flat.median(dim=2).values.view(n, c, 1, 1)
    mad = (flat - median.flatten(2)).abs().median(dim=2).values.view(n, c, 1, 1)
    threshold = torch.clamp(3.0 * _MAD_TO_SIGMA * mad, min=4.0 / 255.0)
    # Pixels the network changed by no more than noise, in every channel.
    quiet = ((diff - median).abs() <= threshold).all(dim=1, keepdim=True).expand_as(diff)
    masked = torch.where(quiet, diff, torch.full_like(diff, float("nan")))
    # The frame's shift: the median over rows of each row's median. Tape damage comes in rows
    # (dropouts, lines, mistracking bands, head switching), so damaged rows are outliers among
    # the row medians and do not move the result.
    rows = masked.nanmedian(dim=3).values
    overall = rows.nanmedian(dim=2).values.nan_to_num(0.0).view(n, c, 1, 1)
    # Rows whose median stands out from the others are damage: left out of the regional field.
    spread = (rows - overall.view(n, c, 1)).abs()
    limit = torch.clamp(
        3.0 * _MAD_TO_SIGMA * spread.nanmedian(dim=2, keepdim=True).values, min=1 / 255
    )
    damaged_rows = (spread > limit).any(dim=1, keepdim=True) | rows.isnan().any(dim=1, keepdim=True)
    quiet = quiet & ~damaged_rows.unsqueeze(-1).expand_as(quiet)
    # Local departures from it (a cast in one region), bounded to ``LOCAL_SHIFT`` so that a
    # block full of repaired damage cannot bring any of it back.
    local, share = _block_medians(diff, quiet, BLOCK // 2)
    local = torch.where((share >= 0.2) & ~local.isnan(), local, overall.expand_as(local))
    local = (local - overall).clamp(-local_shift, local_shift)
    if min(local.shape[-2:]) >= 3:  # smooth the field across neighbouring blocks
        local = F.avg_pool2d(F.pad(local, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    field = F.interpolate(local, size=(h, w), mode="bilinear", align_corners=False) + overall
    field = field.clamp(-max_shift, max_shift)
    return (restored.float() + field).clamp(0.0, 1.0).to(restored.dtype)


def apply_strength(restored: torch.Tensor, degraded: torch.Tensor, strength: float) -> torch.Tensor:
    """Keep ``strength`` of the network's change (1: all of it, 0: none)."""
    if strength >= 1.0:
        return restored
    return degraded + (restored - degraded) * strength
