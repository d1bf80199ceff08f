"""Domain randomisation: training scenes far more varied than the three presets.

A network trained on three fixed presets learns those presets: on damage of other spectra,
shapes or strengths it under-restores, and it learns habits that are wrong in an archive (for
example re-saturating colours, because the preset's chroma effect always desaturates). Each
randomised scene therefore draws:

- a tape-simulator configuration with every effect's probability, strength and geometry drawn
  over wide ranges (from absent to extreme), effects switched on at random, and chroma
  desaturation disabled (a restorer must not change saturation it cannot know);
- a few generic perturbations on top, drawn per scene and varying per frame: white and
  anisotropically correlated noise, noise of a random spectrum (a power law, a band or a
  correlation length along the line, white or correlated down the frame; in luma or in a
  chroma direction, its strength depending on brightness), signal-dependent noise, chroma
  noise at reduced chroma resolution, streaks of any brightness, a rolling band of snow (of
  random profile, height and speed, greying the picture under it), and JPEG compression;
- content changes applied to the clean target and the input alike, which the network must
  therefore leave alone: brightness, gamma, white balance and low light, plus caption text and
  flat graphics overlaid on the scene.

The held-out damage family of the quality benchmark (``restoration/bench/family_b.py``) is
written separately and is never imported here, so its figures measure generalisation.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from restoration.simulation.degrade import (
    ChromaConfig,
    DegradeConfig,
    DropoutConfig,
    FringingConfig,
    HeadSwitchingConfig,
    JitterConfig,
    MistrackingConfig,
    NoiseConfig,
)

__all__ = ["random_content_change", "random_degrade_config", "random_extra_damage"]


def _range(
    rng: np.random.Generator, low: float, high: float, *, log: bool = False
) -> tuple[float, float]:
    """A random (a, b) sub-range of [low, high] (log-uniform when ``log``)."""
    if log:
        a, b = np.exp(rng.uniform(np.log(low), np.log(high), 2))
    else:
        a, b = rng.uniform(low, high, 2)
    a, b = sorted((float(a), float(b)))
    return a, max(b, a * 1.05 + 1e-6)


def _probability(rng: np.random.Generator, on: float = 0.65) -> float:
    """Probability of an effect: off in ``1 - on`` of the scenes, else anything up to always."""
    return 0.0 if rng.random() > on else float(rng.uniform(0.15, 1.0))


def random_degrade_config(rng: np.random.Generator) -> DegradeConfig:
    """A tape-simulator configuration drawn over wide ranges (see the module docstring)."""
    config = DegradeConfig(
        clean_probability=float(rng.uniform(0.0, 0.5)),
        clean_run_frames=float(rng.uniform(2.0, 12.0)),
        noise=NoiseConfig(
            probability=_probability(rng, on=0.8),
            run_frames=float(rng.uniform(3, 30)),
            strength=_range(rng, 0.004, 0.14, log=True),
            chroma_ratio=float(rng.uniform(0.3, 2.5)),
            temporal_corr=float(rng.uniform(0.0, 0.8)),
        ),
        dropouts=DropoutConfig(
            probability=_probability(rng),
            run_frames=float(rng.uniform(1, 6)),
            strength=_range(rng, 0.3, 12.0, log=True),
            length=_range(rng, 0.01, 0.35, log=True),
        ),
        fringing=FringingConfig(
            probability=_probability(rng, on=0.4),
            strength=_range(rng, 0.15, 0.95),
            rate=_range(rng, 0.3, 4.0),
            span=_range(rng, 0.1, 1.0),
        ),
        mistracking=MistrackingConfig(
            event_rate=float(rng.choice([0.0, rng.uniform(0.005, 0.1)])),
            duration=(int(rng.integers(2, 8)), int(rng.integers(8, 30))),
            strength=_range(rng, 0.1, 1.0),
            band_height=_range(rng, 0.03, 0.5),
            max_offset=float(rng.uniform(0.04, 0.2)),
            scramble=float(rng.uniform(0.0, 0.6)),
            noise_bar_probability=float(rng.uniform(0.0, 0.7)),
        ),
        head_switching=HeadSwitchingConfig(
            probability=_probability(rng),
            strength=_range(rng, 0.1, 1.0),
            height=float(rng.uniform(0.02, 0.09)),
            max_offset=float(rng.uniform(0.03, 0.14)),
        ),
        # No desaturation: the target keeps the input's saturation, so the network never learns
        # to re-saturate colours (an unasked colour change in an archive).
        chroma=ChromaConfig(
            probability=_probability(rng, on=0.7),
            strength=_range(rng, 0.1, 1.0),
            max_blur=float(rng.uniform(0.003, 0.02)),
            max_shift=float(rng.uniform(0.0, 0.012)),
            min_saturation=1.0,
        ),
        jitter=JitterConfig(
            probability=_probability(rng, on=0.5),
            strength=_range(rng, 0.1, 1.0),
            max_amplitude=float(rng.uniform(0.001, 0.008)),
        ),
    )
    return config


# ---------------------------------------------------------------- generic perturbations

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _noise_field(
    rng: np.random.Generator, shape: tuple[int, int], sigma_yx: tuple[float, float]
) -> np.ndarray:
    """Unit-variance Gaussian noise, correlated with Gaussian kernels of ``sigma_yx`` pixels."""
    field = rng.standard_normal(shape).astype(np.float32)
    if max(sigma_yx) > 0.3:
        field = gaussian_filter(field, sigma_yx, mode="wrap")
        field /= max(float(field.std()), 1e-6)
    return field


def _random_spectrum(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random amplitude spectrum for ``np.fft.rfft2`` of a (h, w) field, separable into a
    profile along the line and one down the frame.

    Along the line: a power law (from white to deep 1/f^2.5), a band around a random frequency,
    or a Gaussian correlation length, each under a soft cut-off (a playback chain's
    bandwidth). Down the frame: independent lines (most tape noise), or slightly correlated.
    """
    h, w = shape
    fy = np.abs(np.fft.fftfreq(h))[:, None]
    fx = np.maximum(np.fft.rfftfreq(w), 0.5 / w)[None, :]  # cycles per pixel
    kind = int(rng.integers(3))
    if kind == 0:
        along = fx ** (-float(rng.uniform(0.0, 2.5)) / 2)
    elif kind == 1:
        centre = float(np.exp(rng.uniform(np.log(0.01), np.log(0.35))))
        octaves = float(rng.uniform(0.3, 1.5))
        along = np.exp(-0.5 * (np.log2(fx / centre) / octaves) ** 2)
    else:
        length = float(np.exp(rng.uniform(np.log(0.7), np.log(8.0))))
        along = np.exp(-2.0 * (np.pi * length * fx) ** 2)
    cutoff = float(np.exp(rng.uniform(np.log(0.06), np.log(0.5))))
    along = along / (1.0 + (fx / cutoff) ** 4)
    if rng.random() < 0.6:
        down = np.ones_like(fy)
    else:
        down = np.exp(-2.0 * (np.pi * float(rng.uniform(0.3, 2.0)) * fy) ** 2)
    return (along * down).astype(np.float32)


def _spectral_noise(rng: np.random.Generator, spectrum: np.ndarray, h: int, w: int) -> np.ndarray:
    """Unit-variance Gaussian noise of a (h, w) frame shaped by ``spectrum``."""
    white = rng.standard_normal((h, w)).astype(np.float32)
    field = np.fft.irfft2(np.fft.rfft2(white) * spectrum, s=(h, w)).astype(np.float32)
    return field / max(float(field.std()), 1e-6)


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buffer = io.BytesIO()
    subsampling = 2 if quality < 85 else 0
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def _streaks(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """Horizontal streaks of any brightness (not only white) and length, in place, 0..1 float."""
    h, w = image.shape[:2]
    for _ in range(count):
        y = int(rng.integers(0, h))
        length = max(2, int(w * np.exp(rng.uniform(np.log(0.01), np.log(0.4)))))
        x = int(rng.integers(-length // 2, w))
        thickness = int(rng.integers(1, 3))
        level = float(
            rng.choice([rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.7), rng.uniform(0.8, 1.0)])
        )
        profile = np.linspace(1.0, rng.uniform(0.0, 1.0), length, dtype=np.float32) ** rng.uniform(
            0.5, 2
        )
        x0, x1 = max(x, 0), min(x + length, w)
        if x1 <= x0:
            continue
        alpha = profile[x0 - x : x1 - x, None]
        rows = slice(y, min(y + thickness, h))
        image[rows, x0:x1] = image[rows, x0:x1] * (1 - alpha) + level * alpha


def _band_profile(rng: np.random.Generator, h: int) -> np.ndarray:
    """A band's vertical opacity profile, centred on row 0 (wrapping), of random height (2-30 %
    of the frame) and shape: a raised cosine, a Gaussian or a flat top with soft edges."""
    height = float(np.exp(rng.uniform(np.log(0.02), np.log(0.3))))
    rows = np.arange(h, dtype=np.float32)
    d = np.minimum(rows, h - rows) / max(height * h, 1.0)  # distance from the centre, in heights
    kind = int(rng.integers(3))
    if kind == 0:
        profile = np.where(d < 0.5, 0.5 + 0.5 * np.cos(2 * np.pi * d), 0.0)
    elif kind == 1:
        profile = np.exp(-0.5 * (d / 0.25) ** 2)
    else:
        edge = float(rng.uniform(0.02, 0.2))
        profile = np.clip((0.5 - d) / edge, 0.0, 1.0)
    return profile.astype(np.float32)


def _noise_band(
    rng: np.random.Generator,
    image: np.ndarray,
    profile: np.ndarray,
    centre: int,
    opacity: float,
    spectrum: np.ndarray,
    params: dict[str, float],
) -> None:
    """A rolling band of snow, in place on a 0..1 frame: under it the picture is greyed and
    desaturated towards a level (``params['level']``, or the frame's mean luma when negative) by
    up to ``params['grey']``, and noise of ``spectrum``
    (luma, a little chroma) plus sparse sparkles is laid over it."""
    h, w = image.shape[:2]
    alpha = (np.roll(profile, centre) * opacity)[:, None, None]
    grey = params["grey"] * alpha
    target = params["level"] if params["level"] >= 0 else float((image @ _LUMA).mean())
    image += grey * (target - image)  # greyed towards a level, colour and contrast lost
    noise = _spectral_noise(rng, spectrum, h, w)[..., None] * params["sigma"]
    if params["chroma"]:
        noise = noise + rng.standard_normal((h, w, 3)).astype(np.float32) * params["chroma"]
    if params["sparkles"]:
        sparkle = rng.random((h, w)) < params["sparkles"]
        noise = noise + (sparkle * rng.uniform(0.3, 0.9, (h, w))).astype(np.float32)[..., None]
    image += alpha * noise


def random_extra_damage(rng: np.random.Generator, clip: np.ndarray) -> np.ndarray:
    """Generic perturbations on top of the tape simulator (a (T, H, W, 3) uint8 clip).

    Each kind is switched on per scene with some probability and its strength varies per frame,
    so sequences go from barely touched to heavily damaged.
    """
    t, h, w, _ = clip.shape
    white = float(np.exp(rng.uniform(np.log(0.004), np.log(0.12)))) if rng.random() < 0.35 else 0.0
    correlated = (
        float(np.exp(rng.uniform(np.log(0.004), np.log(0.1)))) if rng.random() < 0.35 else 0.0
    )
    corr_sigma = (float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.5, 4.0)))
    spectral = (
        float(np.exp(rng.uniform(np.log(0.004), np.log(0.15)))) if rng.random() < 0.45 else 0.0
    )
    spectrum = _random_spectrum(rng, (h, w))
    # Luma (R = G = B) mostly, else along a random chroma direction with no luma share.
    spectral_colour = np.ones(3, np.float32)
    if rng.random() < 0.25:
        spectral_colour = rng.standard_normal(3).astype(np.float32)
        spectral_colour -= _LUMA @ spectral_colour * np.ones(3, np.float32)
        spectral_colour /= max(float(np.abs(spectral_colour).max()), 1e-6)
    # Stronger in the darks or in the lights now and then (a chain's noise depends on level).
    spectral_tilt = float(rng.uniform(-1.5, 1.5)) if rng.random() < 0.4 else 0.0
    shot = float(rng.uniform(0.01, 0.12)) if rng.random() < 0.25 else 0.0
    chroma = float(np.exp(rng.uniform(np.log(0.005), np.log(0.08)))) if rng.random() < 0.3 else 0.0
    chroma_factor = int(rng.choice([2, 4]))
    streak_rate = float(rng.uniform(0.5, 6.0)) if rng.random() < 0.3 else 0.0
    jpeg_quality = int(rng.integers(25, 90)) if rng.random() < 0.25 else 0
    # A rolling band of snow (a tracking bar of another shape than the simulator's), on in runs.
    band = rng.random() < 0.25
    if band:
        band_profile = _band_profile(rng, h)
        band_spectrum = _random_spectrum(rng, (h, w))
        band_params = {
            "grey": float(rng.uniform(0.0, 0.9)),
            "level": float(rng.uniform(0.2, 0.8)) if rng.random() < 0.3 else -1.0,
            "sigma": float(np.exp(rng.uniform(np.log(0.03), np.log(0.35)))),
            "chroma": float(rng.uniform(0.0, 0.08)) if rng.random() < 0.4 else 0.0,
            "sparkles": float(np.exp(rng.uniform(np.log(0.001), np.log(0.03))))
            if rng.random() < 0.5
            else 0.0,
        }
        band_centre = float(rng.uniform(0, h))
        band_speed = float(rng.uniform(-0.15, 0.15)) * h  # rows per frame; 0 = standing bar
        band_on = rng.random() < 0.5
    if not any((white, correlated, spectral, shot, chroma, streak_rate, jpeg_quality, band)):
        return clip
    out = np.empty_like(clip)
    for i in range(t):
        if rng.random() < 0.15:  # clean frames stay clean now and then
            out[i] = clip[i]
            continue
        image = clip[i].astype(np.float32) / 255.0
        scale = float(rng.uniform(0.6, 1.4))
        if white:
            image += rng.standard_normal(image.shape).astype(np.float32) * white * scale
        if correlated:
            image += (_noise_field(rng, (h, w), corr_sigma) * correlated * scale)[..., None]
        if spectral:
            field = _spectral_noise(rng, spectrum, h, w) * spectral * scale
            if spectral_tilt:
                luma = np.clip(image @ _LUMA, 0, 1)
                field *= np.clip(1.0 + spectral_tilt * (luma - 0.5), 0.2, 2.0)
            image += field[..., None] * spectral_colour
        if shot:
            image += np.sqrt(np.clip(image, 0, 1) * shot * shot * scale) * rng.standard_normal(
                image.shape
            ).astype(np.float32)
        if chroma:
            small = (max(1, h // chroma_factor), max(1, w // chroma_factor))
            for c in range(2):
                blot = rng.standard_normal(small).astype(np.float32)
                blot = np.kron(blot, np.ones((chroma_factor, chroma_factor), np.float32))[:h, :w]
                pad = ((0, h - blot.shape[0]), (0, w - blot.shape[1]))
                blot = np.pad(blot, pad, mode="edge") * chroma * scale
                # U or V direction: add to R/B and remove the luma share to keep brightness.
                direction = np.array([1.0, 0.0, 0.0] if c == 0 else [0.0, 0.0, 1.0], np.float32)
                direction -= _LUMA @ direction * np.ones(3, np.float32)
                image += blot[..., None] * direction
        if streak_rate:
            _streaks(rng, image, int(rng.poisson(streak_rate * scale)))
        if band:
            band_centre += band_speed
            if rng.random() < 0.25:  # switches on and off in runs of about four frames
                band_on = not band_on
            if band_on:
                opacity = float(np.clip(rng.uniform(0.4, 1.2) * scale, 0.0, 1.0))
                centre = int(band_centre) % h
                _noise_band(rng, image, band_profile, centre, opacity, band_spectrum, band_params)
        frame = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        if jpeg_quality:
            frame = _jpeg(frame, int(np.clip(jpeg_quality * scale, 15, 95)))
        out[i] = frame
    return out


# ---------------------------------------------------------------- content changes


def _caption(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A caption or title card overlay: (RGB 0..1, alpha 0..1), fixed over the clip."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    size = int(rng.uniform(0.05, 0.14) * h) + 6
    try:
        font: Any = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without scalable default font
        font = ImageFont.load_default()
    words = ["ARCHIVE", "1984", "NEWS", "Tape 7", "LIVE", "Interview", "Kanal 2", "14:32", "FIN"]
    text = " ".join(rng.choice(words, int(rng.integers(1, 4))))
    x = int(rng.uniform(0.02, 0.5) * w)
    y = int(rng.uniform(0.05, 0.85) * h)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,)
    if rng.random() < 0.5:  # a box behind the text (lower third)
        box = tuple(int(v) for v in rng.integers(0, 256, 3)) + (int(rng.integers(120, 256)),)
        draw.rectangle((0, y - 4, w, y + size + 6), fill=box)
    draw.text((x, y), text, fill=colour, font=font)
    if rng.random() < 0.4:  # flat graphics: a logo block and a bar
        bx, by = int(rng.uniform(0, 0.8) * w), int(rng.uniform(0, 0.8) * h)
        bs = int(rng.uniform(0.05, 0.2) * min(h, w)) + 2
        fill = tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,)
        draw.rectangle((bx, by, bx + bs, by + bs // 2), fill=fill)
    rgba = np.asarray(canvas, dtype=np.float32) / 255.0
    return rgba[..., :3], rgba[..., 3:]


def random_content_change(rng: np.random.Generator, clip: np.ndarray) -> np.ndarray:
    """Change the clean clip itself (target and input alike): levels, gamma, white balance,
    low light, captions and flat graphics. The network sees both states as "content"."""
    t, h, w, _ = clip.shape
    image = clip.astype(np.float32) / 255.0
    changed = False
    if rng.random() < 0.3:  # low light
        image *= float(rng.uniform(0.2, 0.6))
        changed = True
    if rng.random() < 0.4:  # level and gamma drift over the clip, white-balance cast
        gamma = np.exp(np.linspace(0, rng.uniform(-0.25, 0.25), t, dtype=np.float32))
        gain = np.exp(rng.uniform(-0.12, 0.12, 3)).astype(np.float32)
        offset = rng.uniform(-0.04, 0.04)
        image = np.clip(image, 0, 1) ** gamma[:, None, None, None] * gain + offset
        changed = True
    if rng.random() < 0.3:
        rgb, alpha = _caption(rng, h, w)
        image = image * (1 - alpha) + rgb * alpha
        changed = True
    if not changed:
        return clip
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
