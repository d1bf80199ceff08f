"""Full-reference quality metrics: PSNR and SSIM per frame and mean; LPIPS only when its
weights are already on this machine (the engine never downloads)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .exceptions import ConfigError
from .video import iter_frames, probe

LPIPS_UNAVAILABLE = "LPIPS: weights not available"


def _as_float(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(H, W, 3) or (B, H, W, 3) uint8 -> (B, 3, H, W) float in [0, 255]."""
    tensor = torch.as_tensor(frames)
    if tensor.ndim == 3:
        tensor = tensor[None]
    assert tensor.ndim == 4 and tensor.shape[-1] == 3, (
        f"expected (B, H, W, 3) frames, got {tuple(tensor.shape)}"
    )
    return tensor.permute(0, 3, 1, 2).double()


def psnr(clean: np.ndarray | torch.Tensor, restored: np.ndarray | torch.Tensor) -> np.ndarray:
    """PSNR in dB per frame (data range 255); identical frames give inf."""
    a, b = _as_float(clean), _as_float(restored)
    assert a.shape == b.shape, f"shape mismatch {tuple(a.shape)} vs {tuple(b.shape)}"
    mse = (a - b).square().mean(dim=(1, 2, 3))
    return (10 * torch.log10(255.0**2 / mse)).numpy()


def pooled_psnr(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """PSNR of the mean squared error over every frame of every (restored, clean) pair of
    uint8-range arrays, capped at 100 dB for identical inputs.

    Averaging per-frame PSNR would be dominated by untouched frames (infinite PSNR); the
    pooled MSE weighs every pixel once.
    """
    total = sum(float(np.sum((a.astype(np.float64) - b.astype(np.float64)) ** 2)) for a, b in pairs)
    mse = total / sum(a.size for a, _ in pairs)
    return 100.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def ssim_map(
    a: torch.Tensor, b: torch.Tensor, *, data_range: float, sample_covariance: bool = True
) -> torch.Tensor:
    """The SSIM map of (N, C, H, W) images (Wang et al. 2004: 11x11 Gaussian, sigma 1.5, K1
    0.01, K2 0.03) on the valid region (no padding), in their dtype and on their device, so
    the training loss can differentiate through it. `sample_covariance`: the unbiased
    (co)variances skimage uses; the loss keeps the plain ones it was trained with."""
    assert a.shape == b.shape, f"shape mismatch {tuple(a.shape)} vs {tuple(b.shape)}"
    if min(a.shape[-2:]) < 11:
        raise ConfigError(f"SSIM needs frames of at least 11x11 pixels, got {tuple(a.shape[-2:])}")
    coords = torch.arange(11, dtype=a.dtype, device=a.device) - 5
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    g = g / g.sum()
    channels = a.shape[1]
    kx = g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    ky = g.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, kx, groups=channels), ky, groups=channels)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    if sample_covariance:
        correction = 121 / 120  # n / (n - 1) over the 11x11 window
        var_a, var_b, cov = var_a * correction, var_b * correction, cov * correction
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def ssim(clean: np.ndarray | torch.Tensor, restored: np.ndarray | torch.Tensor) -> np.ndarray:
    """SSIM per frame of uint8-range RGB frames, the mean over channels and the valid region:
    the figure skimage's structural_similarity gives with gaussian_weights=True, sigma=1.5."""
    a, b = _as_float(clean), _as_float(restored)
    return ssim_map(a, b, data_range=255.0).mean(dim=(1, 2, 3)).numpy()


def lpips_model() -> Any | None:
    """An LPIPS network if the `lpips` package and its backbone weights are installed locally."""
    try:
        import lpips
    except ModuleNotFoundError:
        return None
    hub = os.path.join(torch.hub.get_dir(), "checkpoints")
    if not os.path.isdir(hub) or not any(name.startswith("alexnet") for name in os.listdir(hub)):
        return None
    return lpips.LPIPS(net="alex", verbose=False).eval()


@dataclass
class VideoComparison:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    lpips: list[float] | None = None
    lpips_note: str | None = None

    def summary(self) -> dict[str, Any]:
        def mean(values: list[float]) -> float:
            finite = [v for v in values if math.isfinite(v)]
            return float(np.mean(finite)) if finite else float("inf")

        data: dict[str, Any] = {
            "frames": len(self.psnr),
            "psnr_mean": round(mean(self.psnr), 4),
            "ssim_mean": round(mean(self.ssim), 5),
        }
        data["lpips_mean"] = round(mean(self.lpips), 5) if self.lpips else None
        if self.lpips_note:
            data["lpips_note"] = self.lpips_note
        return data


def compare_videos(
    clean: str | os.PathLike[str], restored: str | os.PathLike[str], *, use_lpips: bool = True
) -> VideoComparison:
    """Per-frame PSNR/SSIM (and LPIPS when available) of two videos, frame by frame."""
    a, b = probe(clean), probe(restored)
    if (a.width, a.height) != (b.width, b.height):
        raise ConfigError(f"frame sizes differ: {a.width}x{a.height} vs {b.width}x{b.height}")
    if a.frame_count != b.frame_count:
        raise ConfigError(f"frame counts differ: {a.frame_count} vs {b.frame_count}")
    result = VideoComparison()
    network = lpips_model() if use_lpips else None
    if use_lpips and network is None:
        result.lpips_note = LPIPS_UNAVAILABLE
    elif network is not None:
        result.lpips = []
    for x, y in zip(iter_frames(clean), iter_frames(restored), strict=True):
        result.psnr.append(float(psnr(x, y)[0]))
        result.ssim.append(float(ssim(x, y)[0]))
        if network is not None and result.lpips is not None:
            with torch.inference_mode():
                tx = torch.from_numpy(x).permute(2, 0, 1)[None].float() / 127.5 - 1
                ty = torch.from_numpy(y).permute(2, 0, 1)[None].float() / 127.5 - 1
                result.lpips.append(float(network(tx, ty).item()))
    return result
