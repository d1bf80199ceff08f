"""Damage family B: a second tape-damage simulator, for validation only.

Written apart from the training simulator (``restoration.simulation.degrade``, family A) so that
a restorer trained on family A can be scored on damage it has never seen: other noise spectra,
other dropout and mistracking shapes, a capture chain with real codecs, and level/gamma drift.
Training must never import this module (a test scans ``restoration/training`` for it).

Per frame, :meth:`FamilyBSimulator.apply` returns ``(damaged, target)``. ``target`` is the clean
frame after the *content* changes a restorer must leave alone (level and gamma drift: they are
applied to both), so a restorer is scored against the drifted clean frame. Untouched frames
(runs of them, as on real tapes) come out equal to ``target``; with drift off, bit-identical to
the input.

Effects (sizes are fractions of the frame; spectra in cycles per active line, so a preset looks
alike at 256x192 and 720x576; noise works in BT.601 full-range Y'CbCr):

``drift``           gain, offset and gamma following slow sums of sinusoids (content: target too).
``jitter``          time-base error: per-line shifts with a 1/f^a spectrum down the frame plus a
                    field-alternating offset (odd lines vs even lines).
``skew``            mistracking at the top: a sinusoidal skew decaying down from the first line,
                    its phase travelling from frame to frame; the exposed margin is blanking.
``noise_bar``       a rolling tracking bar: raised-cosine band of Laplacian, horizontally smeared
                    noise with sparkles, the picture greyed and desaturated under it.
``head_switching``  a hook at the bottom: a step sideways at the switching line easing back
                    towards the bottom, and a noisy switching line.
``luma_noise``      horizontally correlated luma noise, either pink (1/f^a along the line, cut off
                    at the tape's bandwidth) or band-pass (log-Gaussian around a frequency).
``chroma_noise``    Cb/Cr noise drawn at 4:2:0 or 4:1:1 resolution and upsampled.
``grain``           signal-dependent Poisson-Gaussian grain on R, G and B.
``dropouts``        black and grey drop-outs (1-2 lines), comets (a white head 3 lines thick
                    tapering into a decaying tail), clusters of short streaks on nearby lines.
``compression``     the capture chain: DV (PyAV ``dvvideo``, 720x576 4:2:0 tiles) or MPEG-2 at a
                    broadcast bit rate (scaled by frame area from 720x576), encoded and decoded in
                    memory; frames are padded to valid sizes and cropped back.

Every effect but ``drift`` and ``compression`` switches on and off in runs whose lengths are
log-normal (a semi-Markov schedule computed from the seed, so any frame index can be asked for),
with an intensity per run that wobbles slowly. Compression is the whole clip's chain (one codec
per seed); untouched frames skip it (they still feed the MPEG-2 encoder, so its GOP stays whole).

CLI: ``python -m restoration.bench.family_b IN OUT --preset severe --seed 3 [--target T]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import uniform_filter1d

from restoration.bench.capture_chain import CaptureChain

__all__ = [
    "EFFECTS",
    "PRESETS",
    "Activity",
    "FamilyBPreset",
    "FamilyBSimulator",
    "family_b_preset",
    "simulate_clip",
]

PRESETS = ("light", "medium", "severe")
EFFECTS = (
    "drift",
    "jitter",
    "skew",
    "noise_bar",
    "head_switching",
    "luma_noise",
    "chroma_noise",
    "grain",
    "dropouts",
    "compression",
)
SCHEDULED = EFFECTS[1:-1]  # effects with an on/off schedule
REFERENCE_WIDTH = 720  # spectra and bit rates are given for a 720-pixel PAL line

# BT.601 full range R'G'B' -> Y'CbCr (Cb, Cr centred on 0).
_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)
_FROM_YCC = np.linalg.inv(_TO_YCC).astype(np.float32)


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Activity:
    """When an effect is on (``duty``: share of frames, ``mean_run``: frames per run) and how
    strongly (``strength``: the effect's own unit, drawn per run)."""

    duty: float
    mean_run: float
    strength: tuple[float, float]


@dataclass(frozen=True)
class FamilyBPreset:
    untouched: float  # share of frames left untouched
    untouched_run: float  # mean length of an untouched run (frames)
    jitter: Activity | None  # pixels (at 720 wide) of the line-shift noise
    skew: Activity | None  # peak skew, fraction of the width
    noise_bar: Activity | None  # opacity of the bar
    head_switching: Activity | None  # hook offset, fraction of the width
    luma_noise: Activity | None  # sigma on the 0..1 scale
    chroma_noise: Activity | None  # sigma of Cb/Cr on the 0..1 scale
    grain: Activity | None  # Poisson scale a (variance a * x)
    dropouts: Activity | None  # mean drop-outs per frame
    codecs: tuple[str, ...] = ("dv", "mpeg2")  # capture chains, one drawn per seed
    mpeg2_mbps: tuple[float, float] = (4.0, 8.0)  # at 720x576
    drift: tuple[float, float, float] = (0.0, 0.0, 0.0)  # gain, offset, log-gamma amplitudes
    bar_height: tuple[float, float] = (0.04, 0.10)  # fraction of the height

    def only(self, *effects: str) -> FamilyBPreset:
        """A copy with every effect but ``effects`` off and no untouched frames (for tests)."""
        unknown = set(effects) - set(EFFECTS)
        if unknown:
            raise ValueError(f"unknown effects {sorted(unknown)}; known: {', '.join(EFFECTS)}")
        changes: dict[str, Any] = {n: None for n in SCHEDULED if n not in effects}
        for name in effects:
            if name in SCHEDULED and getattr(self, name) is not None:
                changes[name] = dataclasses.replace(getattr(self, name), duty=1.0)
        if "compression" not in effects:
            changes["codecs"] = ()
        if "drift" not in effects:
            changes["drift"] = (0.0, 0.0, 0.0)
        return dataclasses.replace(self, untouched=0.0, **changes)


def family_b_preset(preset: str) -> FamilyBPreset:
    """Severity presets, set so the damaged input scores about 33 / 27 / 22.5 dB PSNR against
    its target on SD-like content (as the external evaluation of issue 11 did)."""
    if preset == "light":
        return FamilyBPreset(
            untouched=0.4,
            untouched_run=6,
            jitter=Activity(0.3, 6, (0.3, 0.8)),
            skew=Activity(0.08, 4, (0.004, 0.012)),
            noise_bar=Activity(0.05, 3, (0.25, 0.5)),
            head_switching=Activity(0.6, 25, (0.005, 0.015)),
            luma_noise=Activity(0.8, 10, (0.007, 0.015)),
            chroma_noise=Activity(0.7, 10, (0.007, 0.014)),
            grain=Activity(0.5, 12, (0.0002, 0.0006)),
            dropouts=Activity(0.35, 3, (0.5, 1.5)),
            mpeg2_mbps=(6.0, 8.0),
            drift=(0.02, 0.01, 0.03),
        )
    if preset == "medium":
        return FamilyBPreset(
            untouched=0.3,
            untouched_run=5,
            jitter=Activity(0.5, 6, (0.6, 1.5)),
            skew=Activity(0.15, 5, (0.01, 0.03)),
            noise_bar=Activity(0.12, 4, (0.4, 0.75)),
            head_switching=Activity(0.8, 25, (0.01, 0.03)),
            luma_noise=Activity(0.9, 10, (0.028, 0.05)),
            chroma_noise=Activity(0.85, 10, (0.025, 0.045)),
            grain=Activity(0.6, 12, (0.001, 0.0025)),
            dropouts=Activity(0.55, 3, (1.5, 4.0)),
            mpeg2_mbps=(5.0, 7.0),
            drift=(0.04, 0.02, 0.06),
        )
    if preset == "severe":
        return FamilyBPreset(
            untouched=0.12,
            untouched_run=4,
            jitter=Activity(0.7, 6, (1.0, 2.5)),
            skew=Activity(0.25, 6, (0.02, 0.06)),
            noise_bar=Activity(0.25, 5, (0.6, 1.0)),
            head_switching=Activity(0.95, 25, (0.02, 0.05)),
            luma_noise=Activity(0.95, 10, (0.04, 0.07)),
            chroma_noise=Activity(0.95, 10, (0.035, 0.06)),
            grain=Activity(0.75, 12, (0.002, 0.005)),
            dropouts=Activity(0.75, 3, (6.0, 14.0)),
            mpeg2_mbps=(4.0, 5.0),
            drift=(0.06, 0.03, 0.09),
            bar_height=(0.06, 0.16),
        )
    raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")


# --------------------------------------------------------------------------- time structure


@dataclass
class _Schedule:
    """Alternating off/on runs with log-normal lengths; a level per on-run. Extended lazily
    from its own generator, so ``level(index)`` is the same whatever order frames come in."""

    rng: np.random.Generator
    activity: Activity | None
    runs: list[tuple[int, int, float]] = field(default_factory=list)  # (start, end, level)
    _end: int = 0
    _on: bool = False

    def __post_init__(self) -> None:
        self._on = self.activity is not None and bool(self.rng.random() < self.activity.duty)

    def _run_length(self, mean: float) -> int:
        return max(1, round(mean * math.exp(self.rng.normal(-0.18, 0.6))))

    def level(self, index: int) -> float:
        act = self.activity
        if act is None or act.duty <= 0:
            return 0.0
        if act.duty >= 1:
            lo, hi = act.strength
            return lo + (hi - lo) * (0.5 + 0.5 * math.sin(0.37 * index))
        while self._end <= index:
            if self._on:
                length = self._run_length(act.mean_run)
                self.runs.append((self._end, self._end + length, self.rng.uniform(*act.strength)))
            else:
                length = self._run_length(act.mean_run * (1 - act.duty) / act.duty)
            self._end += length
            self._on = not self._on
        for start, end, value in reversed(self.runs):
            if start <= index < end:
                wobble = 1 + 0.15 * math.sin(0.9 * (index - start) + value * 1e3)
                return float(np.clip(value * wobble, *act.strength))
            if end <= index:
                break
        return 0.0


def _slow_signal(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Periods (frames) and phases of three sinusoids: a drift that varies over seconds."""
    return rng.uniform(40, 400, 3), rng.uniform(0, 2 * np.pi, 3)


def _slow_value(signal: tuple[np.ndarray, np.ndarray], index: int) -> float:
    periods, phases = signal
    return float(np.mean(np.sin(2 * np.pi * index / periods + phases)))


# --------------------------------------------------------------------------- helpers


def _spectral_noise(
    rng: np.random.Generator, shape: tuple[int, int], gain: np.ndarray
) -> np.ndarray:
    """White Gaussian noise shaped along the last axis by an amplitude response ``gain``
    (len W // 2 + 1), normalised to unit standard deviation."""
    white = rng.standard_normal(shape).astype(np.float32)
    shaped = np.fft.irfft(np.fft.rfft(white, axis=-1) * gain, n=shape[-1], axis=-1)
    return (shaped / max(float(shaped.std()), 1e-8)).astype(np.float32)


def _shift_rows(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Move each row right by ``offsets[y]`` pixels (linear interpolation); pixels that come
    from outside the line are blanking (black)."""
    h, w = image.shape[:2]
    source = np.arange(w, dtype=np.float32)[None, :] - offsets[:, None].astype(np.float32)
    inside = (source > -0.5) & (source < w - 0.5)
    source = np.clip(source, 0, w - 1)
    left = np.floor(source).astype(np.intp)
    right = np.minimum(left + 1, w - 1)
    frac = (source - left)[..., None]
    rows = np.arange(h)[:, None]
    out = image[rows, left] * (1 - frac) + image[rows, right] * frac
    return np.where(inside[..., None], out, 0.0).astype(np.float32)


# --------------------------------------------------------------------------- the simulator


class FamilyBSimulator:
    """Seeded, deterministic, streaming family-B damage: ``apply(frame, index)``."""

    def __init__(self, preset: str | FamilyBPreset = "medium", seed: int = 0) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, not {seed}")
        self.preset = family_b_preset(preset) if isinstance(preset, str) else preset
        self.seed = seed
        streams = np.random.SeedSequence([seed, 0xFB]).spawn(len(SCHEDULED) + 2)
        self._schedules = {
            name: _Schedule(np.random.default_rng(s), getattr(self.preset, name))
            for name, s in zip(SCHEDULED, streams, strict=False)
        }
        untouched = self.preset.untouched
        self._untouched = _Schedule(
            np.random.default_rng(streams[-2]),
            Activity(untouched, self.preset.untouched_run, (1.0, 1.0)) if untouched > 0 else None,
        )
        clip = np.random.default_rng(streams[-1])  # per-clip constants
        self._drift = [_slow_signal(clip) for _ in range(3)]
        self._luma_kind = "pink" if clip.random() < 0.5 else "band"
        self._luma_shape = (clip.uniform(0.6, 1.4), clip.uniform(150, 300))  # exponent, cutoff
        self._luma_band = (clip.uniform(30, 140), clip.uniform(0.35, 0.8))  # centre, width
        self._chroma_factor = (2, 2) if clip.random() < 0.5 else (1, 4)  # 4:2:0 or 4:1:1
        self._skew_shape = (
            clip.uniform(0.04, 0.15),
            clip.uniform(0.03, 0.08),
            clip.uniform(0.2, 0.8),
        )
        self._bar = (
            clip.uniform(*self.preset.bar_height),
            clip.uniform(0, 1),
            clip.uniform(0.01, 0.04),
        )
        self._hook = (clip.uniform(0.015, 0.03), 1.0 if clip.random() < 0.5 else -1.0)
        self._field_sign = 1.0 if clip.random() < 0.5 else -1.0
        codecs = self.preset.codecs
        self.chain = str(clip.choice(codecs)) if codecs else "none"
        mbps = float(clip.uniform(*self.preset.mpeg2_mbps))
        self._codec = CaptureChain(self.chain, mbps=mbps) if codecs else None
        self.last_effects: dict[str, float] = {}

    def _rng(self, index: int, effect: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, index, EFFECTS.index(effect), 0xFB])

    # ---------------------------------------------------------------- content: drift

    def _target(self, frame: np.ndarray, index: int) -> np.ndarray:
        gain_amp, offset_amp, gamma_amp = self.preset.drift
        if not (gain_amp or offset_amp or gamma_amp):
            return frame.copy()
        gain = 1 + gain_amp * _slow_value(self._drift[0], index)
        offset = offset_amp * _slow_value(self._drift[1], index)
        gamma = math.exp(gamma_amp * _slow_value(self._drift[2], index))
        lut = np.clip(gain * (np.arange(256) / 255.0) ** gamma + offset, 0, 1)
        self.last_effects["drift"] = abs(gain - 1) + abs(offset) + abs(math.log(gamma))
        return np.round(lut * 255).astype(np.uint8)[frame]

    # ---------------------------------------------------------------- geometry

    def _geometry(self, rgb: np.ndarray, index: int, levels: dict[str, float]) -> np.ndarray:
        h, w = rgb.shape[:2]
        offsets = np.zeros(h, dtype=np.float32)
        scale = w / REFERENCE_WIDTH
        if levels["jitter"]:
            rng = self._rng(index, "jitter")
            f = np.fft.rfftfreq(h)
            gain = np.where(f > 0, np.maximum(f, 1.0 / h) ** -0.6, 0.0)
            pink = _spectral_noise(rng, (1, h), gain)[0]
            field_offset = self._field_sign * rng.uniform(0.2, 0.6) * (np.arange(h) % 2 - 0.5)
            offsets += levels["jitter"] * scale * (pink + field_offset)
        if levels["skew"]:
            depth, period, drift = self._skew_shape
            y = np.arange(h) / h
            phase = drift * 2 * np.pi * index
            wave = 0.6 + 0.4 * np.sin(2 * np.pi * y / period + phase)
            offsets += levels["skew"] * w * np.exp(-y / depth) * wave
        hook_rows = 0
        if levels["head_switching"]:
            height, sign = self._hook
            hook_rows = max(2, round(height * h))
            r = np.linspace(0, 1, hook_rows)
            offsets[h - hook_rows :] += (
                sign * levels["head_switching"] * w * (0.35 + 0.65 * np.cos(np.pi * r / 2))
            )
        out = _shift_rows(rgb, offsets) if np.any(offsets) else rgb
        if hook_rows:
            rng = self._rng(index, "head_switching")
            line = np.clip(0.5 + 0.25 * rng.standard_normal(w), 0, 1).astype(np.float32)
            out[h - hook_rows] = 0.3 * out[h - hook_rows] + 0.7 * line[:, None]
        return out

    # ---------------------------------------------------------------- noise, in Y'CbCr

    def _noise_bar(self, ycc: np.ndarray, index: int, opacity: float) -> None:
        h, w = ycc.shape[:2]
        height, start, speed = self._bar
        band = max(3.0, height * h)
        centre = ((start + speed * index) % 1.0) * (h + band) - band / 2
        y = np.arange(h)
        envelope = np.where(
            np.abs(y - centre) < band / 2, 0.5 + 0.5 * np.cos(2 * np.pi * (y - centre) / band), 0
        )
        rows = np.nonzero(envelope > 0)[0]
        if rows.size == 0:
            return
        rng = self._rng(index, "noise_bar")
        noise = rng.laplace(0.0, 0.12, (rows.size, w)).astype(np.float32)
        smear = max(2, round(rng.uniform(3, 9) * w / REFERENCE_WIDTH * 2))
        noise = uniform_filter1d(noise, smear, axis=1) * math.sqrt(smear)
        noise[rng.random((rows.size, w)) < 0.01] = 0.55  # sparkles
        weight = (opacity * envelope[rows])[:, None]
        ycc[rows, :, 0] = (1 - weight) * ycc[rows, :, 0] + weight * (0.45 + noise)
        ycc[rows, :, 1:] *= 1 - weight[..., None]

    def _luma_noise(self, ycc: np.ndarray, index: int, sigma: float) -> None:
        h, w = ycc.shape[:2]
        cycles = np.fft.rfftfreq(w) * w  # cycles per line: the same look at any width
        if self._luma_kind == "pink":
            exponent, cutoff = self._luma_shape
            gain = np.maximum(cycles, 4.0) ** (-exponent / 2) * np.exp(-((cycles / cutoff) ** 2))
        else:
            centre, width = self._luma_band
            gain = np.exp(-0.5 * (np.log(np.maximum(cycles, 0.5) / centre) / width) ** 2)
        gain[0] = 0.0
        ycc[..., 0] += sigma * _spectral_noise(self._rng(index, "luma_noise"), (h, w), gain)

    def _chroma_noise(self, ycc: np.ndarray, index: int, sigma: float) -> None:
        h, w = ycc.shape[:2]
        fy, fx = self._chroma_factor
        rng = self._rng(index, "chroma_noise")
        small = rng.standard_normal((-(-h // fy), -(-w // fx), 2)).astype(np.float32)
        full = np.repeat(np.repeat(small, fy, axis=0), fx, axis=1)[:h, :w]
        full = uniform_filter1d(full, 3, axis=1)  # the player's chroma interpolation
        ycc[..., 1:] += sigma / max(float(full.std()), 1e-8) * full

    # ---------------------------------------------------------------- RGB effects

    def _grain(self, rgb: np.ndarray, index: int, scale: float) -> np.ndarray:
        rng = self._rng(index, "grain")
        photons = rng.poisson(np.clip(rgb, 0, 1) / scale).astype(np.float32) * scale
        read_noise = rng.normal(0.0, 0.25 * math.sqrt(scale), rgb.shape).astype(np.float32)
        return photons + read_noise

    def _dropouts(self, rgb: np.ndarray, index: int, rate: float) -> None:
        h, w = rgb.shape[:2]
        rng = self._rng(index, "dropouts")
        for _ in range(int(rng.poisson(rate))):
            kind = rng.choice(("black", "grey", "comet", "cluster"), p=(0.3, 0.2, 0.3, 0.2))
            y = int(rng.integers(0, h))
            x0 = int(rng.integers(0, w))
            length = max(2, round(w * min(0.45, math.exp(rng.normal(math.log(0.03), 0.9)))))
            x1 = min(w, x0 + length)
            if kind in ("black", "grey"):
                value = rng.uniform(0.0, 0.08) if kind == "black" else rng.uniform(0.42, 0.6)
                ramp = np.minimum(
                    1.0, np.minimum(np.arange(x1 - x0) + 1, x1 - x0 - np.arange(x1 - x0)) / 2
                )
                for row in range(y, min(h, y + (2 if rng.random() < 0.4 else 1))):
                    weight = ramp[:, None]
                    rgb[row, x0:x1] = (1 - weight) * rgb[row, x0:x1] + weight * value
            elif kind == "comet":
                along = np.arange(x1 - x0) / max(x1 - x0, 1)
                tail = np.exp(-3.5 * along)
                for dy in (-1, 0, 1):
                    row = y + dy
                    if 0 <= row < h:
                        weight = tail * np.clip(1 - along / 0.35, 0, 1) if dy else tail
                        weight = weight[:, None].astype(np.float32)
                        rgb[row, x0:x1] = (1 - weight) * rgb[row, x0:x1] + weight * 0.97
            else:  # a cluster of short streaks on nearby lines
                for _ in range(int(rng.integers(3, 9))):
                    row = min(h - 1, max(0, y + int(rng.integers(-6, 7))))
                    sx = min(w - 1, max(0, x0 + int(rng.normal(0, 0.02 * w))))
                    sl = max(1, round(w * rng.uniform(0.004, 0.03)))
                    rgb[row, sx : sx + sl] = 0.95 if rng.random() < 0.7 else 0.05

    # ---------------------------------------------------------------- public

    def apply(self, frame: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 3) uint8 RGB frame number ``index`` -> (damaged, target), both uint8."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"expected an (H, W, 3) uint8 RGB frame, got {frame.shape} {frame.dtype}"
            )
        if min(frame.shape[:2]) < 8:
            raise ValueError(f"frame too small for family B: {frame.shape[1]}x{frame.shape[0]}")
        self.last_effects = {}
        target = self._target(frame, index)
        if self._untouched.level(index) > 0:
            if self._codec is not None and self._codec.name == "mpeg2":
                self._codec.apply(target, index)  # keep the encoder's stream whole
            return target.copy(), target
        levels = {name: self._schedules[name].level(index) for name in SCHEDULED}
        rgb = target.astype(np.float32) / 255
        rgb = self._geometry(rgb, index, levels)
        if levels["noise_bar"] or levels["luma_noise"] or levels["chroma_noise"]:
            ycc = rgb @ _TO_YCC.T
            if levels["noise_bar"]:
                self._noise_bar(ycc, index, levels["noise_bar"])
            if levels["luma_noise"]:
                self._luma_noise(ycc, index, levels["luma_noise"])
            if levels["chroma_noise"]:
                self._chroma_noise(ycc, index, levels["chroma_noise"])
            rgb = ycc @ _FROM_YCC.T
        if levels["grain"]:
            rgb = self._grain(rgb, index, levels["grain"])
        if levels["dropouts"]:
            self._dropouts(rgb, index, levels["dropouts"])
        damaged = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
        if self._codec is not None:
            damaged = self._codec.apply(damaged, index)
            self.last_effects["compression"] = 1.0
        self.last_effects.update({name: value for name, value in levels.items() if value})
        return damaged, target


def simulate_clip(
    frames: np.ndarray, *, preset: str | FamilyBPreset, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A whole (T, H, W, 3) uint8 clip -> (damaged, target), the streaming path in a loop."""
    simulator = FamilyBSimulator(preset, seed)
    pairs = [simulator.apply(frame, index) for index, frame in enumerate(frames)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m restoration.bench.family_b",
        description="Damage IN with family B (validation only) and write OUT (lossless FFV1 "
        "in Matroska), frame by frame. With level/gamma drift on, the clean reference to score "
        "against is the drifted clean clip: --target writes it.",
    )
    parser.add_argument("input", type=Path, metavar="IN")
    parser.add_argument("output", type=Path, metavar="OUT")
    parser.add_argument("--preset", choices=PRESETS, default="medium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=Path, default=None, help="also write the target clip")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.add_argument(
        "--disable",
        action="append",
        choices=EFFECTS,
        default=[],
        metavar="EFFECT",
        help=f"turn an effect off (repeatable): {', '.join(EFFECTS)}",
    )
    args = parser.parse_args(argv)

    from restoration.engine.exceptions import EngineError
    from restoration.engine.video import iter_frames, probe
    from restoration.engine.writers import MasterWriter

    for path in (args.output, args.target):
        if path is not None and path.suffix.lower() != ".mkv":
            print(f"error: {path} must end in .mkv (lossless FFV1)", file=sys.stderr)
            return 2
    preset = family_b_preset(args.preset)
    if args.disable:
        preset = preset.only(*(e for e in EFFECTS if e not in args.disable))
        preset = dataclasses.replace(preset, untouched=family_b_preset(args.preset).untouched)
    try:
        simulator = FamilyBSimulator(preset, args.seed)
        info = probe(args.input)
        damaged_count = count = 0
        with MasterWriter(args.output, info, audio_source=args.input, pixel_format="bgr0") as out:
            target_writer = (
                MasterWriter(args.target, info, pixel_format="bgr0") if args.target else None
            )
            try:
                for index, frame in enumerate(iter_frames(args.input, end=args.max_frames)):
                    damaged, target = simulator.apply(frame, index)
                    out.write(damaged)
                    if target_writer is not None:
                        target_writer.write(target)
                    count += 1
                    damaged_count += bool(set(simulator.last_effects) - {"drift"})
            finally:
                if target_writer is not None:
                    target_writer.close()
    except (EngineError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.output}: {count} frames, {damaged_count} damaged (family B, preset "
        f"{args.preset}, seed {args.seed}, capture chain {simulator.chain})"
        + (f"; target {args.target}" if args.target else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
