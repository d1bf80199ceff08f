"""Per-frame artifact scores and reference selection, with pluggable scorers.

One streaming pass scores every frame (`score_video`); an Otsu threshold over the artifact scores
splits clean from corrupted frames, and a classical noise measure (`noise_profile`) vetoes
"clean" for frames clearly noisier than the quiet frames around them; a bounded pool of K
diverse clean frames is kept (`ReferencePool`), fetched by a second decode, and each window of
frames takes as references the D pool frames whose embeddings are most similar to its own
(cosine). Memory: the scores, noise levels and embeddings of every frame (N x (E + 5) floats)
plus K reference frames, whatever the video's length.

Scorers (`get_scorer`):
- "clip": zero-shot CLIP (open_clip), configured by model name and a pretrained tag or a local
  checkpoint file. Artifact score: how much closer a frame's image embedding is to the averaged
  embedding of prompts describing tape defects than to prompts describing a clean frame.
- "offline": the small CNN trained on the tape simulator's labels (restoration.engine.scorer).
- "none": the fallback when no weights are available: a classical no-reference estimate (noise
  sigma from a Laplacian, Immerkaer 1996, made robust with a median, plus the strength of
  one-row spikes that dropouts, fringing lines and torn rows leave and picture edges don't),
  and a mean-removed 16x12 colour thumbnail as the similarity embedding.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from .exceptions import CancelledError, ConfigError, WeightsError
from .noise import noise_profile, noisier_than_neighbours
from .streaming import FrameReader
from .video import CancelHook, ProgressCallback, frame_to_rgb, iter_av_frames

logger = logging.getLogger(__name__)

EFFECTS = ("noise", "dropouts", "fringing", "mistracking")


@dataclass
class FrameScores:
    artifact: np.ndarray  # (N,) float32 in [0, 1], higher = more degraded
    embeddings: np.ndarray  # (N, E) float32, L2-normalised, for frame similarity
    effects: dict[str, np.ndarray]  # per-effect probabilities (N,), may be empty
    scorer: str
    start: int = 0  # index in the video of the first scored frame
    # Highest artifact score a frame may have and still be passed through unchanged by
    # inference (`keep_clean`); None for scorers whose scale is not calibrated, which then
    # never pass frames through. Otsu alone always splits, even a uniformly damaged tape.
    clean_ceiling: float | None = None
    # (N, 4) robust noise levels of each frame (`noise_profile`), or None (not measured).
    noise: np.ndarray | None = None
    _noisy: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.artifact)

    def threshold(self) -> float:
        return otsu_threshold(self.artifact)

    def noisy_mask(self) -> np.ndarray:
        """Frames noisier than the quiet frames around them (see `noisier_than_neighbours`);
        all False when no noise was measured."""
        if self.noise is None or len(self.noise) != len(self.artifact):
            return np.zeros(len(self.artifact), dtype=bool)
        if self._noisy is None or self._noisy[0] is not self.noise:  # once per noise array
            self._noisy = (self.noise, noisier_than_neighbours(self.noise))
        return self._noisy[1]

    def clean_mask(self) -> np.ndarray:
        """At or below the Otsu threshold, and not noisier than the quiet frames around it
        (the scorer learnt one damage family: it called frames of unseen noise clean, which
        then went out unrestored and served as references)."""
        return (self.artifact <= self.threshold()) & ~self.noisy_mask()

    def to_rows(self) -> list[dict[str, Any]]:
        """One JSON-safe dict per frame: index, artifact, clean, and each effect."""
        clean = self.clean_mask()
        rows = []
        for i, score in enumerate(self.artifact):
            row: dict[str, Any] = {
                "frame": self.start + i,
                "artifact": round(float(score), 5),
                "clean": bool(clean[i]),
            }
            row.update({name: round(float(v[i]), 5) for name, v in self.effects.items()})
            rows.append(row)
        return rows


class FrameScorer(Protocol):
    name: str

    def score_batch(
        self, frames: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]: ...


# ---------------------------------------------------------------------------------------------
# Threshold, pool, selection


def otsu_threshold(values: np.ndarray, bins: int = 128) -> float:
    """Otsu's threshold over scores; with no spread, everything counts as clean."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 1.0
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return high
    hist, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * centres)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[1:][int(np.argmax(between[:-1]))])


@dataclass
class ReferencePool:
    """K diverse clean candidate frames; each window picks its D nearest by embedding."""

    indices: np.ndarray  # (K,) frame indices in the video
    embeddings: np.ndarray  # (K, E)
    threshold: float
    clean_count: int
    frames: dict[int, np.ndarray] = field(default_factory=dict)  # filled by `fetch`

    @classmethod
    def build(cls, scores: FrameScores, *, size: int = 32) -> ReferencePool:
        """Choose up to `size` clean frames by farthest-point sampling from the cleanest one."""
        clean = np.flatnonzero(scores.clean_mask())
        if clean.size == 0:  # degenerate: fall back to the least degraded frames
            clean = np.argsort(scores.artifact)[: max(size, 1)]
        embeddings = scores.embeddings[clean]
        chosen = [int(np.argmin(scores.artifact[clean]))]
        distance = 1.0 - embeddings @ embeddings[chosen[0]]
        while len(chosen) < min(size, clean.size):
            candidate = int(np.argmax(distance))
            if distance[candidate] <= 1e-6:
                break  # the rest are duplicates
            chosen.append(candidate)
            distance = np.minimum(distance, 1.0 - embeddings @ embeddings[candidate])
        picked = clean[np.array(sorted(chosen))]
        return cls(
            indices=picked + scores.start,
            embeddings=scores.embeddings[picked],
            threshold=scores.threshold(),
            clean_count=int(clean.size),
        )

    def fetch(
        self, path: str | os.PathLike[str], *, deinterlace: str = "off", seek_gap: int = 250
    ) -> None:
        """Decode the pool frames: read forward between close ones, seek across long gaps."""
        from .video import frame_to_rgb, iter_av_frames

        frames: Iterator[Any] | None = None
        position = 0  # index of the next frame `frames` yields
        for wanted in sorted({int(i) for i in self.indices}):
            if frames is None or wanted < position or wanted - position > seek_gap:
                frames, position = (
                    iter_av_frames(path, start=wanted, deinterlace=deinterlace),
                    wanted,
                )
            for frame in frames:
                position += 1
                if position - 1 == wanted:
                    self.frames[wanted] = frame_to_rgb(frame)
                    break

    def select(
        self, query: np.ndarray, count: int, *, exclude: set[int] | frozenset[int] = frozenset()
    ) -> list[int]:
        """The `count` pool frames most similar to the query embedding (frames in `exclude`
        are skipped while enough others remain). May repeat frames if the pool is small."""
        if len(self.indices) == 0 or count <= 0:
            return []
        similarity = self.embeddings @ query
        order = [int(i) for i in np.argsort(-similarity, kind="stable")]
        preferred = [self.indices[i] for i in order if int(self.indices[i]) not in exclude]
        ranked = preferred + [self.indices[i] for i in order if int(self.indices[i]) in exclude]
        picked = [int(i) for i in ranked[:count]]
        while len(picked) < count:
            picked.append(picked[len(picked) % len(ranked)])
        return picked


def window_query(scores: FrameScores, frame_indices: list[int]) -> np.ndarray:
    """Mean embedding of a window's frames, normalised."""
    rows = np.asarray(frame_indices) - scores.start
    mean = scores.embeddings[rows].mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-8)


# ---------------------------------------------------------------------------------------------
# Streaming scoring pass


def _cap_size(frames: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frames.shape[1:3]
    if max(height, width) <= max_side:
        return frames
    scale = max_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    small = F.interpolate(tensor, size=size, mode="area")
    return small.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


class BatchScorer:
    """Feeds frames to a scorer in batches and collects its outputs (used for input and output).

    A batch waits in memory until it is full (8 SD frames: 10 MB), so keep it small."""

    def __init__(
        self,
        scorer: FrameScorer,
        *,
        batch_size: int = 8,
        start: int = 0,
        measure_noise: bool = True,
    ) -> None:
        self.scorer = scorer
        self.measure_noise = measure_noise  # `noise_profile` per frame: 13-35 ms at SD
        self.batch_size = batch_size
        self.start = start
        self._pending: list[np.ndarray] = []
        self._artifact: list[np.ndarray] = []
        self._embeddings: list[np.ndarray] = []
        self._effects: list[dict[str, np.ndarray]] = []
        self._noise: list[np.ndarray] = []
        self.seconds = 0.0

    def add(self, frame: np.ndarray) -> None:
        self._pending.append(frame)
        if len(self._pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        started = time.perf_counter()
        batch = _cap_size(np.stack(self._pending), getattr(self.scorer, "max_input_side", 1024))
        artifact, embeddings, effects = self.scorer.score_batch(batch)
        self._artifact.append(np.asarray(artifact, np.float32))
        self._embeddings.append(np.asarray(embeddings, np.float32))
        self._effects.append({k: np.asarray(v, np.float32) for k, v in effects.items()})
        if self.measure_noise:
            self._noise.append(noise_profile(batch))
        self._pending = []
        self.seconds += time.perf_counter() - started

    def result(self) -> FrameScores:
        self._flush()
        if not self._artifact:
            return FrameScores(
                np.zeros(0, np.float32),
                np.zeros((0, 1), np.float32),
                {},
                self.scorer.name,
                self.start,
                getattr(self.scorer, "clean_ceiling", None),
            )
        names = set.intersection(*(set(e) for e in self._effects)) if self._effects else set()
        return FrameScores(
            artifact=np.clip(np.concatenate(self._artifact), 0.0, 1.0),
            embeddings=np.concatenate(self._embeddings),
            effects={
                name: np.concatenate([e[name] for e in self._effects]) for name in sorted(names)
            },
            scorer=self.scorer.name,
            start=self.start,
            clean_ceiling=getattr(self.scorer, "clean_ceiling", None),
            noise=np.concatenate(self._noise) if self.measure_noise else None,
        )


def score_video(
    path: str | os.PathLike[str],
    scorer: FrameScorer,
    *,
    start: int = 0,
    end: int | None = None,
    deinterlace: str = "off",
    batch_size: int = 8,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelHook | None = None,
) -> FrameScores:
    """Score frames [start, end) in one streaming pass; a reader thread decodes the next
    frames while the scorer works (PyAV and torch release the GIL)."""
    batcher = BatchScorer(scorer, batch_size=batch_size, start=start)
    started = time.monotonic()
    frames = iter_av_frames(path, start=start, end=end, deinterlace=deinterlace)
    with FrameReader(frames, convert=frame_to_rgb, ahead=batch_size) as reader:
        for done, frame in enumerate(reader, 1):
            if cancel is not None and done % batch_size == 1 and cancel():
                raise CancelledError("scoring cancelled")
            batcher.add(frame)
            if progress is not None and total and done % batch_size == 0:
                progress(done, total, (time.monotonic() - started) / done * max(total - done, 0))
    return batcher.result()


# ---------------------------------------------------------------------------------------------
# Scorers


class ClassicalScorer:
    """No-reference fallback ("none"): noise sigma + one-row spikes; thumbnail embedding."""

    name = "none"
    max_input_side = 768
    #: Pixels scored at once. The float intermediates take about 40 bytes per pixel, so a
    #: batch of 16 SD frames scored whole grew a worker by 480 MB (measured); every score is
    #: per frame, so scoring a batch one SD frame at a time gives the same scores in about
    #: 20 MB.
    group_pixels = 1 << 18

    def score_batch(
        self, frames: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        assert frames.ndim == 4 and frames.shape[-1] == 3, (
            f"expected (B, H, W, 3), got {frames.shape}"
        )
        size = max(1, self.group_pixels // (frames.shape[1] * frames.shape[2]))
        groups = [self._score(frames[i : i + size]) for i in range(0, len(frames), size)]
        return (
            np.concatenate([artifact for artifact, _ in groups]),
            np.concatenate([embeddings for _, embeddings in groups]),
            {},
        )

    def _score(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        channels = torch.from_numpy(frames).permute(0, 3, 1, 2)  # uint8 view, no copy
        # Luma one channel at a time: no float copy of the whole RGB frame.
        luma = torch.zeros(channels[:, :1].shape, dtype=torch.float32)
        for index, weight in enumerate((0.299, 0.587, 0.114)):
            luma.add_(channels[:, index : index + 1].float(), alpha=weight / 255.0)
        # Noise sigma from the Laplacian-difference mask (Immerkaer 1996), with the median
        # instead of the mean so that picture edges don't count as noise: response std = 6 sigma.
        kernel = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]).view(
            1, 1, 3, 3
        )
        response = F.conv2d(luma, kernel).abs().flatten(1)
        sigma = 1.4826 * response.median(dim=1).values / 6
        del response
        # One-row spikes (dropouts, fringing lines, torn rows): a pixel brighter (or darker) than
        # both the row above and the row below; a picture edge is a step, not a spike.
        up = luma[..., 1:-1, :] - luma[..., :-2, :]
        down = luma[..., 1:-1, :] - luma[..., 2:, :]
        spike = torch.relu(torch.minimum(up, down)) + torch.relu(torch.minimum(-up, -down))
        row_spike = spike.mean(dim=-1).flatten(1)  # (B, H-2): mean over each row
        spike_peak = row_spike.quantile(0.99, dim=1)
        artifact = 1 - torch.exp(-(sigma / 0.02 + spike_peak / 0.03))
        thumb = torch.cat(
            [
                F.adaptive_avg_pool2d(channels[:, index : index + 1].float() / 255.0, (12, 16))
                for index in range(3)
            ],
            dim=1,
        ).flatten(1)
        thumb = thumb - thumb.mean(dim=1, keepdim=True)
        embeddings = F.normalize(thumb, dim=1)
        return artifact.numpy().astype(np.float32), embeddings.numpy().astype(np.float32)


DEFECT_PROMPTS = (
    "a video frame with heavy analog noise",
    "a frame with colour artifacts along horizontal rows",
    "a distorted video frame with tape tracking errors",
    "an interlaced video frame with combing artifacts",
    "a degraded VHS frame",
    "a blurry low quality video frame",
    "a frame with white dropout streaks",
)
CLEAN_PROMPTS = (
    "a clean sharp video frame",
    "a high quality photo",
)
EFFECT_PROMPTS = {
    "noise": ("a video frame with heavy grainy noise",),
    "dropouts": ("a video frame with white horizontal dropout streaks",),
    "fringing": ("a video frame with cyan and magenta lines along rows",),
    "mistracking": ("a video frame with horizontally displaced bands from tape mistracking",),
}


class ClipScorer:
    """Zero-shot CLIP artifact scorer on open_clip (no weights are downloaded by the engine).

    `pretrained` is a tag that open_clip finds in its local cache, a local checkpoint file, or
    None (random weights: only for tests). `model_config` registers a custom architecture (a
    dict in open_clip's model-config format) under `model_name` first.
    """

    name = "clip"
    max_input_side = 1024

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str | None = "openai",
        *,
        model_config: dict[str, Any] | None = None,
        device: str = "cpu",
        logit_scale: float = 100.0,
    ) -> None:
        import open_clip

        if model_config is not None:
            _register_open_clip_config(model_name, model_config)
        weights = _local_clip_weights(model_name, pretrained)
        try:
            model, _, _ = open_clip.create_model_and_transforms(
                model_name, pretrained=weights, device=device
            )
        except RuntimeError as exc:
            raise ConfigError(f"open_clip cannot build {model_name!r}: {exc}") from exc
        except Exception as exc:  # unreadable or mismatching checkpoint file
            raise WeightsError(
                f"CLIP weights {weights} cannot be loaded into {model_name}: {exc}"
            ) from exc
        self.model = model.eval()
        self.device = device
        self.logit_scale = logit_scale
        self.tokenizer = open_clip.get_tokenizer(model_name)
        size = model.visual.image_size
        self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        mean = getattr(model.visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN
        std = getattr(model.visual, "image_std", None) or open_clip.OPENAI_DATASET_STD
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)
        with torch.inference_mode():
            self.clean_text = self._text(CLEAN_PROMPTS)
            self.defect_text = self._text(DEFECT_PROMPTS)
            self.effect_text = {
                name: self._text(prompts) for name, prompts in EFFECT_PROMPTS.items()
            }

    def _text(self, prompts: tuple[str, ...]) -> torch.Tensor:
        tokens = self.tokenizer(list(prompts)).to(self.device)
        embedding = F.normalize(self.model.encode_text(tokens).float(), dim=-1).mean(0)
        return F.normalize(embedding, dim=0)

    def score_batch(
        self, frames: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        assert frames.ndim == 4 and frames.shape[-1] == 3, (
            f"expected (B, H, W, 3), got {frames.shape}"
        )
        with torch.inference_mode():
            rgb = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float() / 255.0
            # Whole frame, squashed to the model's input: tape defects sit at the edges too
            # (head-switching noise at the bottom), so no centre crop.
            rgb = F.interpolate(
                rgb, size=self.image_size, mode="bicubic", antialias=True, align_corners=False
            )
            image = F.normalize(
                self.model.encode_image((rgb - self.mean) / self.std).float(), dim=-1
            )
            clean = image @ self.clean_text
            artifact = torch.sigmoid(self.logit_scale * (image @ self.defect_text - clean))
            effects = {
                name: torch.sigmoid(self.logit_scale * (image @ text - clean)).cpu().numpy()
                for name, text in self.effect_text.items()
            }
        return artifact.cpu().numpy(), image.cpu().numpy(), effects


def _local_clip_weights(model_name: str, pretrained: str | None) -> str | None:
    """A local file for `pretrained` (a path, or a tag already in the local cache); never
    downloads: a deployment that wants CLIP puts the weights there first."""
    import open_clip

    if pretrained is None:
        return None
    if Path(pretrained).is_file():
        return pretrained
    if Path(pretrained).suffix or os.sep in pretrained:
        raise WeightsError(f"CLIP checkpoint not found: {pretrained}")
    config = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not config:
        raise ConfigError(f"open_clip knows no pretrained tag {pretrained!r} for {model_name!r}")
    repo = (config.get("hf_hub") or "").strip("/")
    if repo:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
            cached = try_to_load_from_cache(repo, filename)
            if isinstance(cached, str):
                return cached
    url = config.get("url") or ""
    if url:
        cached_file = Path.home() / ".cache" / "clip" / Path(url).name
        if cached_file.is_file():
            return str(cached_file)
    raise WeightsError(
        f"CLIP weights {model_name}/{pretrained} are not in the local cache and the engine never "
        "downloads; pass a local checkpoint file as pretrained, or use --scorer offline"
    )


def _register_open_clip_config(name: str, config: dict[str, Any]) -> None:
    import open_clip

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.json"
        path.write_text(json.dumps(config))
        open_clip.add_model_config(path)


def _offline_scorer(**options: Any) -> FrameScorer:
    from .scorer import OfflineArtifactScorer  # H4's module; lazy: it loads weights

    if "checkpoint" in options:
        return OfflineArtifactScorer.load(options["checkpoint"])
    return OfflineArtifactScorer.load_default()


def _auto_scorer(**options: Any) -> FrameScorer:
    """The offline scorer when its weights are installed, else the classical fallback."""
    try:
        return _offline_scorer(**options)
    except (WeightsError, ModuleNotFoundError) as exc:
        logger.warning(
            "offline artifact scorer unavailable (%s); using the classical fallback", exc
        )
        return ClassicalScorer()


SCORERS: dict[str, Callable[..., FrameScorer]] = {
    "clip": ClipScorer,
    "offline": _offline_scorer,
    "none": lambda **options: ClassicalScorer(),
    "auto": _auto_scorer,
}


def get_scorer(name: str, **options: Any) -> FrameScorer:
    if name not in SCORERS:
        raise ConfigError(f"unknown scorer {name!r}; choose one of {', '.join(SCORERS)}")
    return SCORERS[name](**options)
