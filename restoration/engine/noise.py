"""Noise levels of frames: a second opinion on which frames are clean.

The artifact scorer learnt one damage family (the tape simulator's); on noise of other spectra
it called damaged frames clean, which inference then passed through unrestored and used as
references. A classical measure catches them: a frame whose noise level is clearly above the
quiet frames around it is not clean, whatever the scorer says (`FrameScores.clean_mask`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["NOISE_CHANNELS", "noise_profile", "noisier_than_neighbours"]


NOISE_CHANNELS = ("luma", "cb", "cr", "luma_rows")
# A frame is noisy when one of its noise levels exceeds NOISE_RATIO x the NOISE_QUANTILE of the
# same level over the frames within NOISE_WINDOW of it, plus NOISE_FLOOR levels. Tuned on the
# quality bench's tuning split: family B (medium) frames that the artifact scorer called clean
# measured 3x to 10x the clean frames of their clip, whose levels varied by under 10 %.
NOISE_WINDOW = 75  # frames each side (3 s of PAL): the baseline follows the tape's content
NOISE_QUANTILE = 0.2
NOISE_RATIO = 1.5
NOISE_FLOOR = 0.4  # levels (0-255): below this, a difference is invisible
_YCC = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)


def noise_profile(frames: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 RGB -> (B, 4) float32 noise levels, 0-255 scale.

    Luma, Cb and Cr: the standard deviation of white noise estimated from the Laplacian-
    difference mask (Immerkaer 1996), with a median so that picture edges don't count.
    Luma rows: the same from the second difference down the frame only, which also sees noise
    correlated along the lines (tape noise is streaky; the 2-D mask misses much of it).
    """
    assert frames.ndim == 4 and frames.shape[-1] == 3, f"expected (B, H, W, 3), got {frames.shape}"
    ycc = torch.tensor(_YCC)
    levels = np.zeros((len(frames), len(NOISE_CHANNELS)), dtype=np.float32)
    if min(frames.shape[1:3]) < 3:
        return levels
    for index, frame in enumerate(frames):  # one frame at a time: bounded memory at any size
        rgb = torch.from_numpy(frame).permute(2, 0, 1).to(torch.int16)
        # The 3x3 mask is separable: second differences down the frame, then along the rows
        # (integer slices: far cheaper than a float conv2d on one CPU thread). Differences are
        # linear, so Y'CbCr is taken after them, on every third response only: ample samples
        # for a median, a third of the work.
        down = rgb[:, 2:] - 2 * rgb[:, 1:-1] + rgb[:, :-2]
        both = down[..., 2:] - 2 * down[..., 1:-1] + down[..., :-2]
        spatial = (ycc @ both.flatten(1)[:, ::3].float()).abs().median(dim=1).values / 6.0
        rows = (ycc[0] @ down.flatten(1)[:, ::3].float()).abs().median() / 6.0**0.5
        levels[index] = [1.4826 * float(value) for value in (*spatial, rows)]
    return levels


def noisier_than_neighbours(
    noise: np.ndarray,
    *,
    window: int = NOISE_WINDOW,
    quantile: float = NOISE_QUANTILE,
    ratio: float = NOISE_RATIO,
    floor: float = NOISE_FLOOR,
) -> np.ndarray:
    """(N, C) noise levels -> (N,) bool: frames clearly noisier than the quiet frames near them.

    The baseline is a low quantile over a window of frames, so a tape that is noisy throughout
    flags nothing (the artifact scorer's calibrated ceiling handles that case), and a noisy
    stretch is measured against the clean frames around it. Frames a full window away from
    both ends share one strided view, taken in chunks (memory stays bounded for a feature
    film: 100,000 frames in about 2 s); the few near the ends are done one by one.
    """
    noise = np.asarray(noise, dtype=np.float32)
    count = len(noise)
    baseline = np.empty_like(noise)
    inner = range(window, count - window)  # frames whose window lies inside the tape
    if len(inner):
        views = np.lib.stride_tricks.sliding_window_view(noise, 2 * window + 1, axis=0)
        for first in range(0, len(inner), 4096):  # views[i] is the window of frame i + window
            part = views[first : first + 4096]  # (n, C, 2 * window + 1)
            baseline[window + first : window + first + len(part)] = np.quantile(
                part, quantile, axis=-1
            )
    for frame in (*range(min(window, count)), *range(max(window, count - window), count)):
        around = noise[max(0, frame - window) : frame + window + 1]
        baseline[frame] = np.quantile(around, quantile, axis=0)
    flagged = np.asarray((noise > ratio * baseline + floor).any(axis=1))
    return flagged
