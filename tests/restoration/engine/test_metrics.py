from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from restoration.engine.exceptions import ConfigError
from restoration.engine.metrics import LPIPS_UNAVAILABLE, compare_videos, psnr, ssim

from .conftest import write_video


def test_psnr_and_ssim_match_skimage() -> None:
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    noisy = np.clip(clean.astype(int) + rng.integers(-20, 21, clean.shape), 0, 255).astype(np.uint8)
    assert psnr(clean, noisy)[0] == pytest.approx(
        peak_signal_noise_ratio(clean, noisy, data_range=255), rel=1e-9
    )
    expected = structural_similarity(
        clean, noisy, channel_axis=2, gaussian_weights=True, sigma=1.5, data_range=255
    )
    assert ssim(clean, noisy)[0] == pytest.approx(expected, abs=1e-6)
    assert ssim(clean, clean)[0] == pytest.approx(1.0)


def test_compare_videos_per_frame(tmp_path: Path, capture: Path) -> None:
    result = compare_videos(capture, capture)
    assert len(result.psnr) == 12 and all(np.isinf(result.psnr))
    summary = result.summary()
    assert summary["ssim_mean"] == pytest.approx(1.0)
    assert result.lpips is not None or summary["lpips_note"] == LPIPS_UNAVAILABLE
    other = write_video(tmp_path / "short.mkv", frames=5)
    with pytest.raises(ConfigError, match="frame counts differ"):
        compare_videos(capture, other)
