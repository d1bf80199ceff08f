"""Procedural analog-tape degradation simulator (seeded, deterministic, streamable).

Clean frames go in, frames that look like a worn VHS/U-matic capture come out, each with labels
saying which effects hit it and how hard (:class:`FrameLabels`): the training data of the
restoration network and of the offline artifact scorer.

Time structure. Every effect has its own on/off process over time (a two-state Markov chain
whose stationary "on" probability is the effect's ``probability`` and whose mean on-run is
``run_frames``) and an intensity that drifts by a log-space random walk inside ``strength``, so
position, intensity and combination of effects all vary from frame to frame. On top, whole
stretches of frames are left untouched (``clean_probability``, mean run ``clean_run_frames``),
as on real tapes: they give the restoration its reference frames. A clean frame is returned
bit-identical to its input.

Effects, in the order they are applied (all sizes are fractions of the frame, so a preset looks
alike at 128x96 and at 720x576; work happens in BT.601 Y'UV):

``chroma`` (:class:`ChromaConfig`)
    Colour-under bandwidth: U/V blurred horizontally (Gaussian, sigma up to ``max_blur`` x
    width), delayed to the right (up to ``max_shift`` x width) and desaturated down to
    ``min_saturation``. Label: the drifting strength.
``jitter`` (:class:`JitterConfig`)
    Time-base error: each row shifted by a sub-pixel to few-pixel offset, smooth down the frame
    plus per-line noise, new every frame; amplitude ``max_amplitude`` x width at strength 1.
``mistracking`` (:class:`MistrackingConfig`)
    Events (start probability ``event_rate`` per frame, ``duration`` frames, ramping up and
    down) during which a band of rows (``band_height``) is torn sideways by offsets growing
    across the band (up to ``max_offset`` x width) with jagged per-row jumps; a fraction of its
    rows (``scramble``) is replaced by other rows of the band; the band drifts vertically, loses
    colour and gets noisier; the exposed margin is dark noise. With ``noise_bar_probability`` a
    bar of snow rolls through the frame during the event. Label: event strength x envelope.
``head_switching`` (:class:`HeadSwitchingConfig`)
    The bottom rows (up to ``height`` x height) bend sideways, more towards the bottom, with
    noise. Label: strength.
``noise`` (:class:`NoiseConfig`)
    Tape noise: horizontally streaky luma grain, stronger in dark areas, and coarse chroma
    blotches (``chroma_ratio`` times the luma sigma), each an AR(1) process over time
    (``temporal_corr``). Label: luma sigma / ``NOISE_FULL_SCALE``.
``fringing`` (:class:`FringingConfig`)
    Horizontal cyan / magenta / green lines, one or two lines thick, spanning ``span`` of the
    width with uneven intensity; ``rate`` lines per frame (Poisson). Label: summed
    intensity x span / 2.
``dropouts`` (:class:`DropoutConfig`)
    White streaks: oxide drop-outs that the player's compensator failed to hide; a bright,
    colourless core of ``length`` x width with a decaying tail; ``rate`` per frame. Label:
    summed length / width.

Every frame's :class:`FrameLabels` has a value in [0, 1] for each name in :data:`EFFECTS`
(0 = absent), the rows each localised effect touched (``bands``), and an overall ``severity``
(1 - prod(1 - w_e s_e), weights :data:`SEVERITY_WEIGHTS`).

Streaming: :class:`TapeSimulator` holds the temporal state and degrades one frame at a time, so
``python -m restoration degrade`` never holds a whole video; :func:`degrade_clip` is the same
simulator run over an array, and gives the same frames as the streaming path for a seed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from restoration.engine.scorer import SCORED_EFFECTS

__all__ = [
    "EFFECTS",
    "PRESETS",
    "SCORED_EFFECTS",
    "SEVERITY_WEIGHTS",
    "ChromaConfig",
    "DegradeConfig",
    "DropoutConfig",
    "FrameLabels",
    "FringingConfig",
    "HeadSwitchingConfig",
    "JitterConfig",
    "MistrackingConfig",
    "NoiseConfig",
    "TapeSimulator",
    "degrade_clip",
    "preset_config",
]

PRESETS = ("light", "medium", "severe")
EFFECTS = ("noise", "dropouts", "fringing", "mistracking", "head_switching", "chroma", "jitter")
SEVERITY_WEIGHTS = {
    "mistracking": 1.0,
    "noise": 0.9,
    "dropouts": 0.7,
    "fringing": 0.7,
    "chroma": 0.5,
    "jitter": 0.4,
    "head_switching": 0.3,
}
NOISE_FULL_SCALE = 0.10  # luma noise sigma (0..1 scale) labelled as severity 1

# BT.601 R'G'B' <-> Y'UV (U, V unscaled: |U| <= 0.436, |V| <= 0.615).
_RGB2YUV = np.array(
    [[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]],
    dtype=np.float32,
)
_YUV2RGB = np.linalg.inv(_RGB2YUV).astype(np.float32)


def _uv_of(rgb: tuple[float, float, float]) -> np.ndarray:
    return (_RGB2YUV @ np.asarray(rgb, dtype=np.float32)).astype(np.float32)


_FRINGE_COLOURS = (_uv_of((0.0, 1.0, 1.0)), _uv_of((1.0, 0.0, 1.0)), _uv_of((0.0, 1.0, 0.0)))

# --------------------------------------------------------------------------- configuration

Range = tuple[float, float]


@dataclass
class NoiseConfig:
    enabled: bool = True
    probability: float = 0.9
    run_frames: float = 12.0
    strength: Range = (0.02, 0.05)  # luma sigma on the 0..1 scale
    chroma_ratio: float = 1.6
    temporal_corr: float = 0.45


@dataclass
class DropoutConfig:
    enabled: bool = True
    probability: float = 0.5
    run_frames: float = 3.0
    strength: Range = (1.0, 4.0)  # mean streaks per frame
    length: Range = (0.04, 0.18)  # fraction of the width


@dataclass
class FringingConfig:
    enabled: bool = True
    probability: float = 0.25
    run_frames: float = 3.0
    strength: Range = (0.35, 0.7)  # colour opacity of a line
    rate: Range = (1.0, 2.5)  # mean lines per frame
    span: Range = (0.3, 0.9)  # fraction of the width


@dataclass
class MistrackingConfig:
    enabled: bool = True
    event_rate: float = 0.03  # probability an event starts on a frame without one
    duration: tuple[int, int] = (4, 16)
    strength: Range = (0.25, 0.65)
    band_height: Range = (0.08, 0.25)  # fraction of the height
    max_offset: float = 0.12  # fraction of the width at strength 1
    scramble: float = 0.35  # fraction of band rows replaced at strength 1
    noise_bar_probability: float = 0.4


@dataclass
class HeadSwitchingConfig:
    enabled: bool = True
    probability: float = 0.7
    run_frames: float = 20.0
    strength: Range = (0.2, 0.6)
    height: float = 0.05  # fraction of the height at strength 1
    max_offset: float = 0.08  # fraction of the width at strength 1


@dataclass
class ChromaConfig:
    enabled: bool = True
    probability: float = 0.85
    run_frames: float = 25.0
    strength: Range = (0.25, 0.6)
    max_blur: float = 0.012  # Gaussian sigma, fraction of the width at strength 1
    max_shift: float = 0.008  # chroma delay, fraction of the width at strength 1
    min_saturation: float = 0.45  # saturation factor at strength 1


@dataclass
class JitterConfig:
    enabled: bool = True
    probability: float = 0.5
    run_frames: float = 8.0
    strength: Range = (0.2, 0.6)
    max_amplitude: float = 0.004  # fraction of the width at strength 1


@dataclass
class DegradeConfig:
    clean_probability: float = 0.3
    clean_run_frames: float = 6.0
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    dropouts: DropoutConfig = field(default_factory=DropoutConfig)
    fringing: FringingConfig = field(default_factory=FringingConfig)
    mistracking: MistrackingConfig = field(default_factory=MistrackingConfig)
    head_switching: HeadSwitchingConfig = field(default_factory=HeadSwitchingConfig)
    chroma: ChromaConfig = field(default_factory=ChromaConfig)
    jitter: JitterConfig = field(default_factory=JitterConfig)

    def only(self, *effects: str) -> DegradeConfig:
        """A copy with every effect but ``effects`` disabled (handy for tests and studies)."""
        unknown = set(effects) - set(EFFECTS)
        if unknown:
            raise ValueError(f"unknown effects {sorted(unknown)}; known: {', '.join(EFFECTS)}")
        changes = {
            name: dataclasses.replace(getattr(self, name), enabled=name in effects)
            for name in EFFECTS
        }
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def preset_config(preset: str) -> DegradeConfig:
    """The configuration of a severity preset ("light", "medium" = the defaults, "severe")."""
    if preset == "medium":
        return DegradeConfig()
    if preset == "light":
        return DegradeConfig(
            clean_probability=0.45,
            noise=NoiseConfig(probability=0.85, strength=(0.008, 0.025)),
            dropouts=DropoutConfig(probability=0.35, strength=(0.5, 2.0), length=(0.03, 0.12)),
            fringing=FringingConfig(
                probability=0.12, strength=(0.25, 0.5), rate=(0.5, 1.5), span=(0.2, 0.6)
            ),
            mistracking=MistrackingConfig(
                event_rate=0.012,
                duration=(3, 10),
                strength=(0.1, 0.35),
                band_height=(0.05, 0.15),
                noise_bar_probability=0.2,
            ),
            head_switching=HeadSwitchingConfig(probability=0.5, strength=(0.1, 0.4)),
            chroma=ChromaConfig(probability=0.7, strength=(0.1, 0.4)),
            jitter=JitterConfig(probability=0.3, strength=(0.1, 0.4)),
        )
    if preset == "severe":
        return DegradeConfig(
            clean_probability=0.2,
            noise=NoiseConfig(probability=0.95, strength=(0.04, 0.10)),
            dropouts=DropoutConfig(probability=0.7, strength=(3.0, 10.0), length=(0.05, 0.25)),
            fringing=FringingConfig(
                probability=0.45, strength=(0.5, 0.9), rate=(1.5, 4.0), span=(0.4, 1.0)
            ),
            mistracking=MistrackingConfig(
                event_rate=0.07,
                duration=(5, 24),
                strength=(0.5, 1.0),
                band_height=(0.12, 0.4),
                noise_bar_probability=0.6,
            ),
            head_switching=HeadSwitchingConfig(probability=0.9, strength=(0.4, 1.0)),
            chroma=ChromaConfig(probability=0.95, strength=(0.45, 0.9)),
            jitter=JitterConfig(probability=0.7, strength=(0.3, 1.0)),
        )
    raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")


# --------------------------------------------------------------------------- labels


@dataclass
class FrameLabels:
    """Which effects hit a frame and how strongly (0 = absent, 1 = the simulator's worst)."""

    effects: dict[str, float]
    bands: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # rows [y0, y1) touched

    @property
    def severity(self) -> float:
        keep = 1.0
        for name, value in self.effects.items():
            keep *= 1.0 - SEVERITY_WEIGHTS.get(name, 0.5) * min(max(value, 0.0), 1.0)
        return 1.0 - keep

    @property
    def clean(self) -> bool:
        return not any(value > 0 for value in self.effects.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "effects": {name: round(value, 4) for name, value in self.effects.items()},
            "severity": round(self.severity, 4),
            "bands": {name: [list(b) for b in bands] for name, bands in self.bands.items()},
        }


# --------------------------------------------------------------------------- temporal processes


class _Activity:
    """On/off Markov chain with a drifting intensity: one per effect."""

    def __init__(
        self, rng: np.random.Generator, probability: float, run_frames: float, strength: Range
    ):
        self.probability = float(min(max(probability, 0.0), 1.0))
        self.leave = 1.0 / max(run_frames, 1.0)
        on_rate = self.leave * self.probability / max(1.0 - self.probability, 1e-6)
        self.enter = min(on_rate, 1.0)
        self.strength = strength
        self.active = bool(rng.random() < self.probability)
        self.level = float(rng.uniform(*strength))

    def step(self, rng: np.random.Generator) -> float:
        """Advance one frame; the intensity, or 0 when off."""
        flip = rng.random()
        drift = rng.normal(0.0, 0.12)
        fresh = rng.uniform(*self.strength)
        if self.active:
            self.active = flip >= self.leave
        elif flip < self.enter:
            self.active = True
            self.level = float(fresh)
        lo, hi = self.strength
        self.level = float(np.clip(self.level * math.exp(drift), lo, hi))
        return self.level if self.active else 0.0


@dataclass
class _MistrackEvent:
    remaining: int
    duration: int
    strength: float
    centre: float  # band centre, fraction of the height
    height: float  # fraction of the height
    drift: float  # band centre movement per frame, fraction of the height
    direction: float  # +1 / -1: which way the band tears
    bar: bool
    bar_pos: float  # fraction of the height (top of the bar)
    bar_speed: float
    bar_height: float

    @property
    def envelope(self) -> float:
        k = self.duration - self.remaining
        return math.sin(math.pi * (k + 0.5) / self.duration) ** 0.5


# --------------------------------------------------------------------------- pixel helpers


def _shift_rows(planes: np.ndarray, offsets: np.ndarray, rows: slice | np.ndarray) -> np.ndarray:
    """Shift the selected rows of (C, H, W) planes right by fractional ``offsets`` (one per row).

    Returns a boolean (n_rows, W) mask of pixels whose source fell outside the frame.
    """
    width = planes.shape[-1]
    xs = np.arange(width, dtype=np.float32)[None, :] - offsets[:, None].astype(np.float32)
    outside = (xs < 0) | (xs > width - 1)
    x0 = np.floor(xs)
    frac = (xs - x0)[None]
    i0 = np.clip(x0, 0, width - 1).astype(np.intp)
    i1 = np.clip(x0 + 1, 0, width - 1).astype(np.intp)
    sub = planes[:, rows]
    left = np.take_along_axis(sub, np.broadcast_to(i0, sub.shape), axis=-1)
    right = np.take_along_axis(sub, np.broadcast_to(i1, sub.shape), axis=-1)
    planes[:, rows] = left * (1 - frac) + right * frac
    return outside


def _streaky_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Unit-variance noise correlated along rows (analog noise is smeared horizontally)."""
    white = rng.standard_normal(shape, dtype=np.float32)
    smeared = 0.5 * white
    smeared[:, 1:] += 0.25 * white[:, :-1]
    smeared[:, :-1] += 0.25 * white[:, 1:]
    return smeared / np.float32(0.6124)


def _coarse_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Unit-variance chroma blotches: blocks of 2x4 pixels per 240 lines of height, repeated."""
    h, w = shape
    scale = max(1, round(h / 240))
    by, bx = 2 * scale, 4 * scale
    low = rng.standard_normal((-(-h // by), -(-w // bx)), dtype=np.float32)
    return np.repeat(np.repeat(low, by, axis=0), bx, axis=1)[:h, :w]


# --------------------------------------------------------------------------- simulator


class TapeSimulator:
    """Degrades frames one at a time, carrying the tape's temporal state between them."""

    def __init__(self, *, seed: int, preset: str = "medium", config: DegradeConfig | None = None):
        self.config = config if config is not None else preset_config(preset)
        self.seed = int(seed)
        self._rng = np.random.default_rng([self.seed, 0x7A9E])
        cfg = self.config
        rng = self._rng
        self._clean = _Activity(rng, cfg.clean_probability, cfg.clean_run_frames, (1.0, 1.0))
        self._activity = {
            name: _Activity(
                rng,
                getattr(cfg, name).probability,
                getattr(cfg, name).run_frames,
                getattr(cfg, name).strength,
            )
            for name in ("noise", "dropouts", "fringing", "head_switching", "chroma", "jitter")
        }
        self._event: _MistrackEvent | None = None
        self._last_event: _MistrackEvent | None = None
        self._noise_state: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._shape: tuple[int, int] | None = None
        self.frame_index = 0

    # -- public API ---------------------------------------------------------------------------

    def process(self, frame: np.ndarray) -> tuple[np.ndarray, FrameLabels]:
        """Degrade one (H, W, 3) uint8 RGB frame; returns the new frame and its labels."""
        self._check_frame(frame)
        rng = self._rng
        clean, levels, mistracking = self._step_levels(rng)
        effects = dict.fromkeys(EFFECTS, 0.0)
        if clean or not (any(levels.values()) or mistracking):
            return frame.copy(), FrameLabels(effects=effects)
        labels = FrameLabels(effects=effects)
        original = frame.astype(np.float32) / 255.0
        yuv = np.einsum("hwc,dc->dhw", original, _RGB2YUV)  # (3, H, W)
        start = yuv.copy()
        if levels["chroma"]:
            effects["chroma"] = self._chroma(yuv, levels["chroma"])
        if levels["jitter"]:
            effects["jitter"] = self._jitter(rng, yuv, levels["jitter"])
        if mistracking:
            effects["mistracking"] = self._mistracking(rng, yuv, mistracking, labels)
        if levels["head_switching"]:
            effects["head_switching"] = self._head_switching(
                rng, yuv, levels["head_switching"], labels
            )
        if levels["noise"]:
            effects["noise"] = self._noise(rng, yuv, levels["noise"])
        if levels["fringing"]:
            effects["fringing"] = self._fringing(rng, yuv, levels["fringing"], labels)
        if levels["dropouts"]:
            effects["dropouts"] = self._dropouts(rng, yuv, levels["dropouts"], labels)
        # Add the change back in RGB so untouched pixels come out bit-identical.
        delta = np.einsum("dhw,cd->hwc", yuv - start, _YUV2RGB)
        out = frame.astype(np.float32) + delta * 255.0
        return np.clip(np.rint(out), 0, 255).astype(np.uint8), labels

    def _check_frame(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
        height, width = frame.shape[:2]
        if self._shape is None:
            self._shape = (height, width)
        elif self._shape != (height, width):
            raise ValueError(f"frame size changed from {self._shape} to {(height, width)}")

    def _step_levels(self, rng: np.random.Generator) -> tuple[bool, dict[str, float], float]:
        """Advance the tape by one frame: (a clean stretch?, each effect's level, mistracking)."""
        clean = self._clean.step(rng) > 0
        levels = {name: activity.step(rng) for name, activity in self._activity.items()}
        mistracking = self._step_event(rng)
        for name in levels:
            if not getattr(self.config, name).enabled:
                levels[name] = 0.0
        if not self.config.mistracking.enabled:
            mistracking = 0.0
        if not levels["noise"]:
            self._noise_state = None  # grain restarts fresh when noise comes back
        self.frame_index += 1
        return clean, levels, mistracking

    def process_clip(self, frames: np.ndarray) -> tuple[np.ndarray, list[FrameLabels]]:
        out = np.empty_like(frames)
        labels = []
        for index, frame in enumerate(frames):
            out[index], frame_labels = self.process(frame)
            labels.append(frame_labels)
        return out, labels

    # -- temporal state -----------------------------------------------------------------------

    def _step_event(self, rng: np.random.Generator) -> float:
        cfg = self.config.mistracking
        draws = rng.random(8)
        if self._event is None and draws[0] < cfg.event_rate:
            lo, hi = cfg.duration
            duration = int(lo + draws[1] * (hi - lo + 1))
            self._event = _MistrackEvent(
                remaining=duration,
                duration=duration,
                strength=float(cfg.strength[0] + draws[2] * (cfg.strength[1] - cfg.strength[0])),
                centre=float(draws[3]),
                height=float(
                    cfg.band_height[0] + draws[4] * (cfg.band_height[1] - cfg.band_height[0])
                ),
                drift=float((draws[5] - 0.5) * 0.06),
                direction=1.0 if draws[6] < 0.5 else -1.0,
                bar=bool(draws[7] < cfg.noise_bar_probability),
                bar_pos=float(rng.random()),
                bar_speed=float(rng.uniform(0.03, 0.12) * rng.choice([-1.0, 1.0])),
                bar_height=float(rng.uniform(0.03, 0.08)),
            )
        event = self._event
        if event is None:
            return 0.0
        level = event.strength * event.envelope
        self._last_event = dataclasses.replace(event)
        event.remaining -= 1
        event.centre = (event.centre + event.drift) % 1.0
        event.bar_pos = (event.bar_pos + event.bar_speed) % 1.0
        if event.remaining <= 0:
            self._event = None
        return float(level)

    # -- effects ------------------------------------------------------------------------------

    def _chroma(self, yuv: np.ndarray, level: float) -> float:
        cfg = self.config.chroma
        width = yuv.shape[2]
        sigma = level * cfg.max_blur * width
        if sigma > 0.3:
            yuv[1:] = gaussian_filter1d(yuv[1:], sigma, axis=2, mode="nearest")
        shift = level * cfg.max_shift * width
        offsets = np.full(yuv.shape[1], shift, dtype=np.float32)
        _shift_rows(yuv[1:], offsets, slice(None))
        yuv[1:] *= 1.0 - level * (1.0 - cfg.min_saturation)
        return level

    def _jitter(self, rng: np.random.Generator, yuv: np.ndarray, level: float) -> float:
        height, width = yuv.shape[1:]
        amplitude = level * self.config.jitter.max_amplitude * width
        rows = np.arange(height, dtype=np.float32) / height
        freq = rng.uniform(1.0, 4.0, size=2)
        phase = rng.uniform(0, 2 * np.pi, size=2)
        smooth = 0.6 * np.sin(2 * np.pi * freq[0] * rows + phase[0]) + 0.4 * np.sin(
            2 * np.pi * freq[1] * rows + phase[1]
        )
        offsets = amplitude * (0.7 * smooth + 0.3 * rng.standard_normal(height))
        _shift_rows(yuv, np.asarray(offsets, dtype=np.float32), slice(None))
        return level

    def _fill_exposed(
        self, rng: np.random.Generator, yuv: np.ndarray, rows: np.ndarray, outside: np.ndarray
    ) -> None:
        """Dark noise where a displaced row exposed the blanking interval."""
        if not outside.any():
            return
        count = int(outside.sum())
        sub = yuv[:, rows]
        sub[0][outside] = 0.04 + 0.04 * rng.standard_normal(count).astype(np.float32)
        sub[1][outside] = 0.0
        sub[2][outside] = 0.0
        yuv[:, rows] = sub

    def _mistracking(
        self, rng: np.random.Generator, yuv: np.ndarray, level: float, labels: FrameLabels
    ) -> float:
        cfg = self.config.mistracking
        event = self._last_event  # kept even when the event ends on this very frame
        assert event is not None, "mistracking level without an event"
        height, width = yuv.shape[1:]
        band_h = max(
            2, round(event.height * (0.5 + 0.5 * level / max(event.strength, 1e-6)) * height)
        )
        top = round((event.centre - event.height / 2) * height)
        top = min(max(top, 0), max(height - band_h, 0))
        rows = np.arange(top, min(top + band_h, height))
        across = np.linspace(0.0, 1.0, len(rows), dtype=np.float32)
        ramp = across ** rng.uniform(0.5, 2.0)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        max_off = level * cfg.max_offset * width
        jagged = rng.standard_normal(len(rows)).astype(np.float32) * 0.15 * max_off
        offsets = event.direction * (max_off * (0.25 + 0.75 * ramp)) + jagged
        # Scramble: some rows replaced by other rows of the band (before the shift, so they
        # tear too).
        n_scramble = round(cfg.scramble * level * len(rows))
        if n_scramble:
            targets = rng.choice(rows, size=n_scramble, replace=False)
            yuv[:, targets] = yuv[:, rng.choice(rows, size=n_scramble)]
        outside = _shift_rows(yuv, offsets, rows)
        self._fill_exposed(rng, yuv, rows, outside)
        yuv[0, rows] += 0.06 * level * _streaky_noise(rng, (len(rows), width))
        yuv[1:, rows] *= 1.0 - 0.6 * level
        touched = [(int(rows[0]), int(rows[-1]) + 1)]
        if event.bar:
            bar_h = max(1, round(event.bar_height * height))
            bar_top = int(event.bar_pos * (height + bar_h)) - bar_h
            bar_rows = np.arange(max(bar_top, 0), min(bar_top + bar_h, height))
            if len(bar_rows):
                alpha = 0.5 + 0.45 * level
                snow = 0.5 + 0.3 * _streaky_noise(rng, (len(bar_rows), width))
                yuv[0, bar_rows] = (1 - alpha) * yuv[0, bar_rows] + alpha * snow
                yuv[1:, bar_rows] *= 1 - alpha
                yuv[1:, bar_rows] += (
                    alpha
                    * 0.08
                    * _coarse_noise(rng, (2 * len(bar_rows), width)).reshape(
                        2, len(bar_rows), width
                    )
                )
                touched.append((int(bar_rows[0]), int(bar_rows[-1]) + 1))
        labels.bands["mistracking"] = touched
        return level

    def _head_switching(
        self, rng: np.random.Generator, yuv: np.ndarray, level: float, labels: FrameLabels
    ) -> float:
        cfg = self.config.head_switching
        height, width = yuv.shape[1:]
        count = max(1, round(level * cfg.height * height))
        rows = np.arange(height - count, height)
        depth = ((np.arange(count, dtype=np.float32) + 1) / count) ** 1.5
        offsets = level * cfg.max_offset * width * depth * rng.uniform(0.6, 1.0)
        offsets += (
            rng.standard_normal(count).astype(np.float32) * 0.1 * level * cfg.max_offset * width
        )
        outside = _shift_rows(yuv, offsets.astype(np.float32), rows)
        self._fill_exposed(rng, yuv, rows, outside)
        yuv[0, rows] += 0.05 * level * _streaky_noise(rng, (count, width))
        labels.bands["head_switching"] = [(int(rows[0]), height)]
        return level

    def _noise(self, rng: np.random.Generator, yuv: np.ndarray, sigma: float) -> float:
        cfg = self.config.noise
        shape = yuv.shape[1:]
        fresh = (_streaky_noise(rng, shape), _coarse_noise(rng, shape), _coarse_noise(rng, shape))
        if self._noise_state is None:
            state = fresh
        else:
            rho = cfg.temporal_corr
            keep = math.sqrt(1 - rho * rho)
            state = tuple(rho * old + keep * new for old, new in zip(self._noise_state, fresh))  # type: ignore[assignment]
        self._noise_state = state
        luma_gain = sigma * (1.25 - 0.5 * np.clip(yuv[0], 0, 1))  # darker areas are noisier
        yuv[0] += luma_gain * state[0]
        yuv[1] += sigma * cfg.chroma_ratio * 0.5 * state[1]
        yuv[2] += sigma * cfg.chroma_ratio * 0.5 * state[2]
        return float(min(sigma / NOISE_FULL_SCALE, 1.0))

    def _line_thickness(self, rng: np.random.Generator, height: int) -> int:
        lines = 1 if rng.random() < 0.7 else 2
        return max(1, round(lines * height / 480))

    def _fringing(
        self, rng: np.random.Generator, yuv: np.ndarray, level: float, labels: FrameLabels
    ) -> float:
        cfg = self.config.fringing
        height, width = yuv.shape[1:]
        count = max(1, int(rng.poisson(rng.uniform(*cfg.rate))))
        total = 0.0
        bands = []
        xs = np.arange(width, dtype=np.float32)
        for _ in range(count):
            thickness = self._line_thickness(rng, height)
            y = int(rng.integers(0, height - thickness + 1))
            span = rng.uniform(*cfg.span)
            length = min(width, max(2, int(span * width)))  # a span over 1 spans the frame
            x0 = int(rng.integers(0, width - length + 1))
            colour = _FRINGE_COLOURS[int(rng.integers(len(_FRINGE_COLOURS)))]
            opacity = level * rng.uniform(0.8, 1.0)
            # Uneven along the line, soft at its ends.
            along = np.clip(
                np.minimum(xs - x0, x0 + length - 1 - xs) / max(2.0, 0.1 * length), 0, 1
            )
            wobble = 0.75 + 0.25 * np.sin(xs * rng.uniform(0.05, 0.3) + rng.uniform(0, 6.3))
            alpha = (opacity * along * wobble).astype(np.float32)[None, :]
            rows = slice(y, y + thickness)
            yuv[0, rows] = (1 - 0.7 * alpha) * yuv[0, rows] + 0.7 * alpha * colour[0]
            yuv[1, rows] = (1 - alpha) * yuv[1, rows] + alpha * colour[1]
            yuv[2, rows] = (1 - alpha) * yuv[2, rows] + alpha * colour[2]
            total += opacity * span
            bands.append((y, y + thickness))
        labels.bands["fringing"] = bands
        return float(min(total / 2.0, 1.0))

    def _dropouts(
        self, rng: np.random.Generator, yuv: np.ndarray, level: float, labels: FrameLabels
    ) -> float:
        cfg = self.config.dropouts
        height, width = yuv.shape[1:]
        count = max(1, int(rng.poisson(level)))
        total = 0.0
        bands = []
        xs = np.arange(width, dtype=np.float32)
        for _ in range(count):
            thickness = self._line_thickness(rng, height)
            y = int(rng.integers(0, height - thickness + 1))
            length = max(2, int(rng.uniform(*cfg.length) * width))
            x0 = int(rng.integers(0, width - 1))
            tail = max(1.0, 0.4 * length)
            core = (xs >= x0) & (xs < x0 + length)
            after = xs >= x0 + length
            alpha = np.where(
                core, 1.0, np.where(after, np.exp(-np.clip(xs - x0 - length, 0, None) / tail), 0.0)
            )
            alpha = np.where(alpha > 0.02, alpha, 0.0).astype(np.float32)[None, :]
            rows = slice(y, y + thickness)
            white = rng.uniform(0.85, 1.0) + 0.05 * rng.standard_normal((thickness, width)).astype(
                np.float32
            )
            yuv[0, rows] = (1 - alpha) * yuv[0, rows] + alpha * white
            yuv[1:, rows] *= 1 - alpha
            total += min(length, width - x0) / width
            bands.append((y, y + thickness))
        labels.bands["dropouts"] = bands
        return float(min(total, 1.0))


def degrade_clip(
    frames: np.ndarray, *, seed: int, preset: str = "medium", config: DegradeConfig | None = None
) -> tuple[np.ndarray, list[FrameLabels]]:
    """Degrade a (T, H, W, 3) uint8 RGB clip; returns the degraded clip and one label per frame.

    ``config`` (e.g. ``preset_config("severe").only("mistracking")``) replaces the preset.
    Deterministic for a seed, and equal to streaming the same frames through
    :class:`TapeSimulator`.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected a (T, H, W, 3) uint8 clip, got {frames.shape} {frames.dtype}")
    return TapeSimulator(seed=seed, preset=preset, config=config).process_clip(frames)
