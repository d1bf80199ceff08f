"""Colour BM3D rows of the quality bench: the ``bm3d`` package's ``bm3d_rgb`` (Dabov et al.
2007, the reference implementation from Tampere University), as an independent evaluator would
run it.

It costs about 4 s per 256x192 frame on one core, so the bench runs it on a frame subset (every
``every``-th frame of the first ``clips`` clips) and tunes its one knob, the noise sigma, per
preset by a small sweep on a *tuning split*: frames of clips whose seeds the reported clips
never use. Both the sweep and the subset are printed and recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from restoration.engine.metrics import pooled_psnr

# Candidate sigmas (0-255 levels) per preset: three around the damage's strength.
SIGMA_CANDIDATES: dict[str, tuple[float, ...]] = {
    "clean": (2.0, 5.0, 10.0),
    "light": (5.0, 10.0, 20.0),
    "medium": (10.0, 20.0, 35.0),
    "severe": (20.0, 35.0, 50.0),
}


@dataclass(frozen=True)
class Bm3dPlan:
    every: int = 4  # every N-th frame of a clip ...
    clips: int = 4  # ... of the first N clips
    tuning_clips: int = 2  # one frame of each (its centre crop) for the sweep

    def subset(self, frames: int) -> list[int]:
        """Frame indices BM3D runs on in each clip (offset by half a step: not frame 0 only)."""
        return list(range(min(self.every // 2, frames - 1), frames, self.every))


def bm3d_frame(frame: np.ndarray, sigma: float) -> np.ndarray:
    """One (H, W, 3) uint8 RGB frame through colour BM3D at ``sigma`` (0-255 levels)."""
    try:
        import bm3d  # type: ignore[import-untyped]
    except ImportError as error:  # a dev/test dependency, not a runtime one
        raise RuntimeError(
            "the BM3D rows need the 'bm3d' package (pip install 'bm3d==4.0.3'), or pass --no-bm3d"
        ) from error
    out = bm3d.bm3d_rgb(frame.astype(np.float64) / 255.0, sigma / 255.0)
    return np.clip(np.round(np.asarray(out) * 255.0), 0, 255).astype(np.uint8)


def tuning_frame(degraded: np.ndarray, target: np.ndarray) -> int:
    """The frame of a tuning clip to sweep on: the median-damage frame among the damaged ones
    (the middle frame of an undamaged clip)."""
    errors = [float(np.mean((d.astype(np.float32) - t) ** 2)) for d, t in zip(degraded, target)]
    damaged = sorted((e, i) for i, e in enumerate(errors) if e > 0)
    return damaged[len(damaged) // 2][1] if damaged else len(errors) // 2


def centre_crop(frame: np.ndarray) -> np.ndarray:
    """The middle half (in each dimension) of a frame: the sweep runs on these, a quarter of
    the cost, since BM3D's one knob does not depend on the frame size."""
    h, w = frame.shape[:2]
    return frame[h // 4 : h // 4 + max(h // 2, 8), w // 4 : w // 4 + max(w // 2, 8)]


def sweep_sigma(
    pool: Executor, pairs: Sequence[tuple[np.ndarray, np.ndarray]], candidates: Sequence[float]
) -> tuple[float, dict[str, float]]:
    """Best sigma by PSNR (pooled) over (degraded, target) frames; and every candidate's PSNR."""
    runs = {sigma: [pool.submit(bm3d_frame, d, sigma) for d, _ in pairs] for sigma in candidates}
    scores = {
        f"{sigma:g}": pooled_psnr([(f.result(), t) for f, (_, t) in zip(runs[sigma], pairs)])
        for sigma in candidates
    }
    best = max(candidates, key=lambda sigma: scores[f"{sigma:g}"])
    return best, scores
