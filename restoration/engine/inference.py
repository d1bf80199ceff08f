"""Restore a video (or a photo) end to end: score, pick references, run windows, write outputs.

Windows. The published method runs one full window of T frames per output frame (T network
frame-passes per frame). Here consecutive windows overlap by `margin` frames on each side and
each window contributes only the frames near its centre: with T=5 and margin 1, windows advance
by 3 and every frame is computed 5/3 = 1.67 times instead of 5 (3x cheaper), while each output
frame still has at least one neighbour on both sides inside its window (except at the ends).

Tiles. Frames larger than `tile` are cut into overlapping tiles (sizes multiples of the model's
`pad_multiple`), restored separately and blended with linear ramps across the overlaps, so memory
is bounded at any resolution; frames are padded (reflect) to `pad_multiple` and cropped back.

Clean frames. With `keep_clean` (the default) frames the scorer classifies as clean (at or below
the same Otsu threshold that picks the reference pool, and below the scorer's calibrated
`clean_ceiling`, so a uniformly damaged tape is never half skipped; scorers without a calibrated
scale pass nothing through) are written unchanged: the network only
ever sees them as context. The shipped model slightly degrades frames that are already clean (on
the quality benchmark's "light" preset it scored below its own input), and windows whose output
frames are all clean skip the network entirely, which is also a speed win.

References. Each window selects D reference frames from a bounded pool of clean frames (see
references.py); their encoder features are computed once per (frame, tile) and cached, so a
reference used by many windows costs one encoder pass.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .exceptions import CancelledError, ConfigError, InvalidVideoError, WeightsError
from .fidelity import apply_strength, colour_guard, parse_strength
from .models import RestorationNet, create_model, default_weights, list_models
from .references import (
    BatchScorer,
    FrameScorer,
    FrameScores,
    ReferencePool,
    get_scorer,
    score_video,
    window_query,
)
from .video import (
    DEINTERLACE_MODES,
    AccessWriter,
    CancelHook,
    MasterWriter,
    ProgressCallback,
    frame_to_rgb,
    iter_av_frames,
    probe,
)

AUTO_TILE_PIXELS = 1024 * 1024  # frames up to this many pixels run untiled when tile="auto"
AUTO_TILE = 512


# ---------------------------------------------------------------------------------------------
# Devices and models


def resolve_device(device: str | None = "auto") -> torch.device:
    """ "auto": cuda, then mps, then cpu; anything else is passed to torch.device."""
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(
            f"unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)"
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but no CUDA GPU is available")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps requested but MPS is not available")
    return resolved


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16; None (float32) on CPU."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return None


def load_model(name: str = "tape-lite", checkpoint: str | Path | None = None) -> RestorationNet:
    """A variant with its weights: `checkpoint`, else the shipped default weights."""
    if name not in list_models():
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    if checkpoint is None:
        shipped = default_weights(name)
        if not shipped.exists():
            raise WeightsError(
                f"no weights for {name!r}: {shipped} is missing. Train them with "
                f"`python -m restoration train --model {name}` or pass --checkpoint PATH"
            )
        checkpoint = shipped
    return create_model(name, checkpoint=checkpoint)


# ---------------------------------------------------------------------------------------------
# Window and tile planning


@dataclass(frozen=True)
class Window:
    begin: int  # first input frame (relative to the restored range)
    end: int  # one past the last input frame
    out_begin: int  # frames [out_begin, out_end) are taken from this window
    out_end: int


def default_margin(window: int) -> int:
    return (window - 1) // 4


def plan_windows(count: int, window: int, margin: int | None = None) -> list[Window]:
    """Overlapping windows; each frame is output by exactly one window, near its centre."""
    if window < 1:
        raise ConfigError(f"window must be at least 1, not {window}")
    margin = default_margin(window) if margin is None else margin
    if margin < 0 or window - 2 * margin < 1:
        raise ConfigError(f"margin {margin} leaves no output frames in a window of {window}")
    windows: list[Window] = []
    out = 0
    while out < count:
        begin = max(0, min(out - margin, count - window))
        end = min(begin + window, count)
        out_end = count if end == count else end - margin
        windows.append(Window(begin, end, out, out_end))
        out = out_end
    return windows


def _axis_tiles(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """Tiles along one axis: equal sizes (multiples of `multiple`), at least `overlap` apart
    from full overlap, starting on the model's grid (multiples of `multiple`): the stem and
    patch merging make the network shift-equivariant only by whole grid steps, and off-grid
    tiles measured a 20x larger difference from the untiled output."""
    if length <= tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    size = min(math.ceil((length + (count - 1) * overlap) / count / multiple) * multiple, length)
    step = max(multiple, (size - overlap) // multiple * multiple)
    starts = sorted(
        {min(i * step, length - size) for i in range(math.ceil((length - size) / step) + 1)}
    )
    return [(start, start + size) for start in starts]


def plan_tiles(
    height: int, width: int, tile: int | None, overlap: int, multiple: int
) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) boxes over a padded frame; one box when `tile` is None or covers it."""
    if tile is None:
        return [(0, height, 0, width)]
    tile = max(multiple, tile // multiple * multiple)
    overlap = min(overlap, tile // 2)
    return [
        (y0, y1, x0, x1)
        for y0, y1 in _axis_tiles(height, tile, overlap, multiple)
        for x0, x1 in _axis_tiles(width, tile, overlap, multiple)
    ]


def _blend_weights(
    box: tuple[int, int, int, int], height: int, width: int, overlap: int
) -> torch.Tensor:
    """Linear ramps over `overlap` pixels on the sides that touch another tile."""
    y0, y1, x0, x1 = box

    def ramp(n: int, ramp_start: bool, ramp_end: bool) -> torch.Tensor:
        weights = torch.ones(n)
        k = min(overlap, n // 2)
        if k > 0:
            ramp_values = (torch.arange(k) + 0.5) / k
            if ramp_start:
                weights[:k] = ramp_values
            if ramp_end:
                weights[-k:] = ramp_values.flip(0)
        return weights

    wy = ramp(y1 - y0, y0 > 0, y1 < height)
    wx = ramp(x1 - x0, x0 > 0, x1 < width)
    return wy[:, None] * wx[None, :]


# ---------------------------------------------------------------------------------------------
# The window restorer (model + device + tiling + reference-feature cache)


class WindowRestorer:
    """Runs the network on windows of frames, tiled, with cached reference features."""

    def __init__(
        self,
        model: RestorationNet,
        *,
        device: torch.device,
        tile: int | None = None,
        tile_overlap: int = 32,
        cache_size: int = 64,
        strength: float = 1.0,
        colour_guard: bool = True,
    ) -> None:
        self.model = model.to(device).eval()
        self.strength = strength
        self.colour_guard = colour_guard
        self.device = device
        self.dtype = autocast_dtype(device)
        self.multiple = int(model.config["pad_multiple"])
        self.tile = tile
        self.overlap = tile_overlap
        self._cache: OrderedDict[tuple[int, tuple[int, int, int, int]], dict[int, torch.Tensor]] = (
            OrderedDict()
        )
        self.cache_size = cache_size
        self.network_seconds = 0.0
        self.frame_passes = 0  # frames pushed through the network (x tiles)

    def _to_tensor(self, frames: list[np.ndarray]) -> torch.Tensor:
        array = torch.from_numpy(np.stack(frames)).to(self.device)
        tensor = array.permute(0, 3, 1, 2).float().div_(255.0)[None]  # (1, n, 3, h, w)
        return tensor

    def _pad(self, tensor: torch.Tensor) -> torch.Tensor:
        h, w = tensor.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph == 0 and pw == 0:
            return tensor
        flat = tensor.flatten(0, 1)
        mode = "reflect" if ph < h and pw < w else "replicate"
        return F.pad(flat, (0, pw, 0, ph), mode=mode).unflatten(0, tensor.shape[:2])

    def _autocast(self) -> Any:
        if self.dtype is None:
            return torch.autocast(device_type="cpu", enabled=False)
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _reference_features(
        self, references: dict[int, torch.Tensor], box: tuple[int, int, int, int]
    ) -> dict[int, torch.Tensor] | None:
        if not references:
            return None
        per_reference = []
        y0, y1, x0, x1 = box
        for index, padded in references.items():
            key = (index, box)
            if key not in self._cache:
                with self._autocast():
                    self._cache[key] = self.model.encode_references(padded[..., y0:y1, x0:x1])
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(key)
            per_reference.append(self._cache[key])
        return {
            level: torch.cat([f[level] for f in per_reference], dim=1) for level in per_reference[0]
        }

    @torch.inference_mode()
    def restore(
        self,
        frames: list[np.ndarray],
        references: list[tuple[int, np.ndarray]] | None = None,
        keep: tuple[int, int] | None = None,
    ) -> list[np.ndarray]:
        """Restore one window; returns frames [keep[0], keep[1]) of it as uint8 RGB."""
        keep = keep or (0, len(frames))
        height, width = frames[0].shape[:2]
        clip = self._pad(self._to_tensor(frames))
        padded_refs = {
            index: self._pad(self._to_tensor([image])) for index, image in (references or [])
        }
        ph, pw = clip.shape[-2:]
        boxes = plan_tiles(ph, pw, self.tile, self.overlap, self.multiple)
        started = time.perf_counter()
        if len(boxes) == 1:
            with self._autocast():
                out = self.model(
                    clip,
                    reference_features=self._reference_features(padded_refs, boxes[0]),
                    outputs=keep,
                )
            result = out[0].float()
        else:
            result = torch.zeros((keep[1] - keep[0], 3, ph, pw), device=self.device)
            total = torch.zeros((ph, pw), device=self.device)
            for box in boxes:
                y0, y1, x0, x1 = box
                features = self._reference_features(padded_refs, box)
                with self._autocast():
                    out = self.model(
                        clip[..., y0:y1, x0:x1], reference_features=features, outputs=keep
                    )
                weight = _blend_weights(box, ph, pw, self.overlap).to(self.device)
                result[..., y0:y1, x0:x1] += out[0].float() * weight
                total[y0:y1, x0:x1] += weight
            result = result / total
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.network_seconds += time.perf_counter() - started
        self.frame_passes += len(frames) * len(boxes)
        result = self._finish(result[..., :height, :width], clip[0, keep[0] : keep[1]])
        images = result.clamp(0, 1).mul(255).round().byte()
        return list(images.permute(0, 2, 3, 1).cpu().numpy())

    def _finish(self, restored: torch.Tensor, degraded: torch.Tensor) -> torch.Tensor:
        """The fidelity guards (engine/fidelity.py) between the network and the written frame."""
        degraded = degraded[..., : restored.shape[-2], : restored.shape[-1]].float()
        restored = restored.clamp(0, 1)
        if self.colour_guard:
            restored = colour_guard(restored, degraded)
        return apply_strength(restored, degraded, self.strength)


# ---------------------------------------------------------------------------------------------
# Video


@dataclass
class RestoreResult:
    src: str
    dst: str
    access_copy: str | None
    frames: int
    start: int
    end: int
    model: str
    weights_sha256: str | None
    device: str
    dtype: str
    window: int
    margin: int
    tile: int | None
    reference_count: int
    scorer: str
    timings: dict[str, float]
    computations_per_frame: float
    scores_before: FrameScores
    scores_after: FrameScores | None
    references_used: list[dict[str, Any]] = field(default_factory=list)
    reference_pool: list[int] = field(default_factory=list)
    keep_clean: bool = False
    strength: float = 1.0  # fraction of the network's change kept (engine/fidelity.py)
    colour_guard: bool = True
    passed_through: int = 0  # frames written unchanged (classified clean, `keep_clean`)
    windows_skipped: int = 0  # windows whose frames were all clean: no network pass

    @property
    def fps(self) -> float:
        return self.frames / max(self.timings.get("total", 0.0), 1e-9)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary, with per-frame artifact scores before/after for plotting."""
        data = {
            k: v for k, v in self.__dict__.items() if k not in {"scores_before", "scores_after"}
        }
        data["fps"] = round(self.fps, 3)
        data["scores_before"] = self.scores_before.to_rows()
        data["scores_after"] = (
            self.scores_after.to_rows() if self.scores_after is not None else None
        )
        return data


def _tile_size(tile: int | str | None, width: int, height: int) -> int | None:
    if tile == "auto":
        return None if width * height <= AUTO_TILE_PIXELS else AUTO_TILE
    if tile is None or isinstance(tile, int):
        return tile
    raise ConfigError(f"tile must be a number of pixels, 'auto' or None, not {tile!r}")


def _check_options(
    window: int, references: int, start: int, end: int | None, deinterlace: str
) -> None:
    if window < 1:
        raise ConfigError(f"window must be at least 1 frame, not {window}")
    if references < 0:
        raise ConfigError(f"references must be 0 or more, not {references}")
    if start < 0 or (end is not None and end <= start):
        raise ConfigError(f"invalid frame range: start={start} end={end}")
    if deinterlace not in DEINTERLACE_MODES:
        raise ConfigError(
            f"deinterlace must be one of {', '.join(DEINTERLACE_MODES)}, not {deinterlace!r}"
        )


def restore_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    model: RestorationNet | str = "tape-lite",
    checkpoint: str | Path | None = None,
    scorer: FrameScorer | str | None = "auto",
    scores: FrameScores | None = None,
    window: int | None = None,
    margin: int | None = None,
    references: int | None = None,
    pool_size: int = 32,
    tile: int | str | None = "auto",
    tile_overlap: int = 32,
    start: int = 0,
    end: int | None = None,
    deinterlace: str = "off",
    access_copy: str | os.PathLike[str] | None = None,
    master_pixel_format: str | None = None,
    score_output: bool = True,
    keep_clean: bool = True,
    strength: str | float = "standard",
    colour_guard: bool = True,
    device: str | None = "auto",
    progress: ProgressCallback | None = None,
    cancel: CancelHook | None = None,
) -> RestoreResult:
    """Restore `src` into an FFV1/MKV master at `dst` (and an H.264 access copy if asked).

    `scores` may carry precomputed scores for the whole video (the portal keeps them per
    capture); otherwise the frames [start, end) are scored first with `scorer`.
    `references=0` disables reference fusion (the ablation). `tile`: pixels per tile side,
    None for whole frames, "auto" for whole frames up to about 1 Mpixel and 512 above.
    `keep_clean`: frames scored clean (`FrameScores.clean_mask`, the Otsu threshold that also
    picks the reference pool) are written exactly as decoded, and windows whose output frames
    are all clean are not run through the network; corrupted frames still see their clean
    neighbours as context. When the scores have no spread at all (the scorer cannot tell
    frames apart) nothing counts as clean here and every frame is restored.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    net = load_model(model, checkpoint) if isinstance(model, str) else model
    config = net.config
    window = int(window or config["window"])
    references = int(config["references"] if references is None else references)
    margin = default_margin(window) if margin is None else margin
    _check_options(window, references, start, end, deinterlace)
    info = probe(src)
    end = min(end if end is not None else info.frame_count, info.frame_count)
    if start >= end:
        raise ConfigError(
            f"start frame {start} is past the end of the video ({info.frame_count} frames)"
        )
    count = end - start
    tile_size = _tile_size(tile, info.width, info.height)
    strength_value = parse_strength(strength)
    restorer = WindowRestorer(
        net,
        device=resolve_device(device),
        tile=tile_size,
        tile_overlap=tile_overlap,
        strength=strength_value,
        colour_guard=colour_guard,
    )
    frame_scorer = get_scorer(scorer) if isinstance(scorer, str) else scorer
    if frame_scorer is None and (references > 0 or scores is None):
        frame_scorer = get_scorer("none")

    # 1. Scores (one streaming pass) and the reference pool (a second, partial decode).
    phase = time.perf_counter()
    if scores is None:
        assert frame_scorer is not None
        scores = score_video(
            src, frame_scorer, start=start, end=end, deinterlace=deinterlace, cancel=cancel
        )
    if not (scores.start <= start and scores.start + len(scores) >= end):
        raise ConfigError(
            f"scores cover frames {scores.start}..{scores.start + len(scores)}, not {start}..{end}"
        )
    timings["score_input"] = time.perf_counter() - phase
    phase = time.perf_counter()
    pool = ReferencePool.build(scores, size=pool_size) if references > 0 else None
    if pool is not None:
        pool.fetch(src, deinterlace=deinterlace)
    timings["fetch_references"] = time.perf_counter() - phase

    # 2. Windows, streamed: decode -> network -> master (+ access copy) -> output scores.
    plan = plan_windows(count, window, margin)
    clean = _pass_through_mask(scores, start, end) if keep_clean else np.zeros(count, dtype=bool)
    passed_through = windows_skipped = network_frames = 0
    time_range = None
    if start > 0 or end < info.frame_count:
        begin_s = info.start_time_s + float(start / info.frame_rate)
        time_range = (begin_s, info.start_time_s + float(end / info.frame_rate))
    progressive = deinterlace != "off"
    used: list[dict[str, Any]] = []
    output_scorer = (
        BatchScorer(frame_scorer, start=start) if score_output and frame_scorer else None
    )
    phase = time.perf_counter()
    with MasterWriter(
        dst,
        info,
        audio_source=src,
        time_range=time_range,
        progressive=progressive,
        pixel_format=master_pixel_format,
    ) as master:
        access = (
            AccessWriter(
                access_copy, info, audio_source=src, time_range=time_range, progressive=progressive
            )
            if access_copy is not None
            else None
        )
        try:
            frames = _FrameBuffer(
                iter_av_frames(src, start=start, end=end, deinterlace=deinterlace)
            )
            done = 0
            for item in plan:
                if cancel is not None and cancel():
                    raise CancelledError(f"restoration cancelled after {done} of {count} frames")
                frames.release(item.begin)  # window begins never move backwards
                clip, times = frames.get(item.begin, item.end)
                keep = (item.out_begin - item.begin, item.out_end - item.begin)
                out_clean = clean[item.out_begin : item.out_end]
                if out_clean.all():
                    restored = clip[keep[0] : keep[1]]
                    windows_skipped += 1
                else:
                    chosen: list[int] = []
                    if pool is not None:
                        window_frames = list(range(start + item.begin, start + item.end))
                        query = window_query(scores, window_frames)
                        chosen = pool.select(query, references, exclude=set(window_frames))
                        used.append(
                            {
                                "frames": [start + item.out_begin, start + item.out_end],
                                "references": chosen,
                            }
                        )
                    restored = restorer.restore(
                        clip,
                        [(index, pool.frames[index]) for index in chosen]
                        if pool is not None
                        else None,
                        keep=keep,
                    )
                    network_frames += item.end - item.begin
                    restored = [
                        clip[keep[0] + offset] if is_clean else image
                        for offset, (image, is_clean) in enumerate(
                            zip(restored, out_clean, strict=True)
                        )
                    ]
                passed_through += int(out_clean.sum())
                for offset, image in enumerate(restored):
                    time_s = times[item.out_begin - item.begin + offset]
                    master.write(image, time_s=time_s)
                    if access is not None:
                        access.write(image, time_s=time_s)
                    if output_scorer is not None:
                        output_scorer.add(image)
                done = item.out_end
                if progress is not None:
                    elapsed = time.perf_counter() - started
                    progress(done, count, elapsed / done * (count - done))
        except BaseException:
            if access is not None:
                access.abort()
            raise
        if access is not None:
            access.close()
    timings["restore"] = time.perf_counter() - phase
    timings["network"] = restorer.network_seconds
    scores_after = output_scorer.result() if output_scorer is not None else None
    timings["score_output"] = output_scorer.seconds if output_scorer is not None else 0.0
    timings["total"] = time.perf_counter() - started
    card = getattr(net, "card", None) or {}
    return RestoreResult(
        src=str(src),
        dst=str(dst),
        access_copy=str(access_copy) if access_copy is not None else None,
        frames=count,
        start=start,
        end=end,
        model=str(config["name"]),
        weights_sha256=card.get("sha256"),
        device=str(restorer.device),
        dtype=str(restorer.dtype or torch.float32).replace("torch.", ""),
        window=window,
        margin=margin,
        tile=tile_size,
        reference_count=references,
        scorer=scores.scorer,
        timings={k: round(v, 4) for k, v in timings.items()},
        computations_per_frame=network_frames / count,
        scores_before=scores,
        scores_after=scores_after,
        references_used=used,
        reference_pool=[int(i) for i in pool.indices] if pool is not None else [],
        keep_clean=keep_clean,
        strength=strength_value,
        colour_guard=colour_guard,
        passed_through=passed_through,
        windows_skipped=windows_skipped,
    )


def _pass_through_mask(scores: FrameScores, start: int, end: int) -> np.ndarray:
    """Frames [start, end) classified clean by the reference-pool threshold and below the
    scorer's calibrated clean ceiling. None when the scorer has no calibrated scale, or the
    scores have no spread (Otsu then calls everything clean, which says nothing here): Otsu
    always splits, so alone it would leave half of a uniformly damaged tape unrestored."""
    first = start - scores.start
    ceiling = scores.clean_ceiling
    if ceiling is None or len(scores) == 0 or float(np.ptp(scores.artifact)) < 1e-6:
        return np.zeros(end - start, dtype=bool)
    clean = scores.clean_mask() & (scores.artifact <= ceiling)
    return clean[first : first + (end - start)]


class _FrameBuffer:
    """Sliding window over decoded frames: holds at most one window plus its stride."""

    def __init__(self, frames: Iterator[Any]) -> None:
        self._source = frames
        self._frames: deque[tuple[np.ndarray, float | None]] = deque()
        self._first = 0  # index of self._frames[0]

    def get(self, begin: int, end: int) -> tuple[list[np.ndarray], list[float | None]]:
        while self._first + len(self._frames) < end:
            frame = next(self._source, None)
            if frame is None:
                raise InvalidVideoError(
                    f"the video ended after {self._first + len(self._frames)} frames, "
                    f"though its header announced at least {end}: truncated file?"
                )
            self._frames.append((frame_to_rgb(frame), frame.time))
        selected = list(self._frames)[begin - self._first : end - self._first]
        return [f for f, _ in selected], [t for _, t in selected]

    def release(self, before: int) -> None:
        """Forget frames before `before`: no later window needs them."""
        while self._first < before and self._frames:
            self._frames.popleft()
            self._first += 1


# ---------------------------------------------------------------------------------------------
# Photo


def restore_image(
    path_in: str | os.PathLike[str],
    path_out: str | os.PathLike[str],
    *,
    model: RestorationNet | str = "tape-lite",
    checkpoint: str | Path | None = None,
    references: list[str | os.PathLike[str]] | None = None,
    tile: int | str | None = "auto",
    device: str | None = "auto",
    strength: str | float = "standard",
    colour_guard: bool = True,
) -> dict[str, Any]:
    """Restore one photo (a window of T=1); optional reference photos of the same scene."""
    from PIL import Image, UnidentifiedImageError

    net = load_model(model, checkpoint) if isinstance(model, str) else model

    def read(path: str | os.PathLike[str]) -> np.ndarray:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: file not found")
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise ConfigError(f"{path}: not a readable image ({exc})") from exc

    photo = read(path_in)
    refs = [read(p) for p in references or []]
    if any(r.shape != photo.shape for r in refs):
        raise ConfigError("reference photos must have the same size as the photo")
    restorer = WindowRestorer(
        net,
        device=resolve_device(device),
        tile=_tile_size(tile, photo.shape[1], photo.shape[0]),
        strength=parse_strength(strength),
        colour_guard=colour_guard,
    )
    started = time.perf_counter()
    restored = restorer.restore([photo], list(enumerate(refs)) or None)[0]
    Path(path_out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(restored).save(path_out)
    return {
        "seconds": round(time.perf_counter() - started, 4),
        "device": str(restorer.device),
        "size": photo.shape[:2],
    }
