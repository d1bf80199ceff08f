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

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .exceptions import ConfigError, WeightsError
from .execution import (
    WindowJob,
    WindowPool,
    plan_execution,
    precision_name,
    resolve_precision,
    torch_threads,
)
from .fidelity import apply_strength, colour_guard, parse_strength
from .models import RestorationNet, create_model, default_weights, list_models
from .planning import (
    Window,
    blend_weights,
    default_margin,
    pass_through_mask,
    plan_tiles,
    plan_windows,
    tile_size_for,
)
from .references import (
    BatchScorer,
    FrameScorer,
    FrameScores,
    ReferencePool,
    get_scorer,
    score_video,
    window_query,
)
from .scheduler import stream_windows
from .video import (
    DEINTERLACE_MODES,
    CancelHook,
    ProgressCallback,
    probe,
)

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
# The window restorer (model + device + tiling + reference-feature cache)


class WindowRestorer:
    """Runs the network on windows of frames, tiled, with cached reference features.

    `precision`: auto, fp32, bf16 or fp16 autocast (execution.resolve_precision);
    `compile`: torch.compile the network (GPUs; the first windows of each shape pay for it).
    """

    def __init__(
        self,
        model: RestorationNet,
        *,
        device: torch.device,
        tile: int | None = None,
        tile_overlap: int = 32,
        cache_size: int = 64,
        precision: str = "auto",
        compile: bool = False,
        strength: float = 1.0,
        colour_guard: bool = True,
    ) -> None:
        self.model = model.to(device).eval()
        self.strength = strength
        self.colour_guard = colour_guard
        self.device = device
        self.dtype = resolve_precision(precision, device)
        self.precision = precision_name(self.dtype)
        self._forward = torch.compile(self.model, dynamic=False) if compile else self.model
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
            return torch.autocast(device_type=self.device.type, enabled=False)
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

    def restore(
        self,
        frames: list[np.ndarray],
        references: list[tuple[int, np.ndarray]] | None = None,
        keep: tuple[int, int] | None = None,
    ) -> list[np.ndarray]:
        """Restore one window; returns frames [keep[0], keep[1]) of it as uint8 RGB."""
        job = WindowJob(frames, references, keep or (0, len(frames)))
        return self.restore_jobs([job])[0]

    def restore_jobs(self, jobs: list[WindowJob], batch: int = 1) -> list[list[np.ndarray]]:
        """Restore windows, up to `batch` at a time when they share a shape (one pass each)."""
        results: list[list[np.ndarray]] = []
        group: list[WindowJob] = []
        for job in jobs:
            if group and (len(group) >= batch or _batch_key(job) != _batch_key(group[0])):
                results += self._restore_batch(group)
                group = []
            group.append(job)
        if group:
            results += self._restore_batch(group)
        return results

    @torch.inference_mode()
    def _restore_batch(self, jobs: list[WindowJob]) -> list[list[np.ndarray]]:
        keep = jobs[0].keep
        height, width = jobs[0].frames[0].shape[:2]
        clip = torch.cat([self._pad(self._to_tensor(job.frames)) for job in jobs])
        padded_refs = [
            {index: self._pad(self._to_tensor([image])) for index, image in job.references or []}
            for job in jobs
        ]
        ph, pw = clip.shape[-2:]
        boxes = plan_tiles(ph, pw, self.tile, self.overlap, self.multiple)
        started = time.perf_counter()
        if len(boxes) == 1:
            with self._autocast():
                out = self._forward(
                    clip,
                    reference_features=self._batch_features(padded_refs, boxes[0]),
                    outputs=keep,
                )
            result = out.float()
        else:
            result = torch.zeros((len(jobs), keep[1] - keep[0], 3, ph, pw), device=self.device)
            total = torch.zeros((ph, pw), device=self.device)
            for box in boxes:
                y0, y1, x0, x1 = box
                features = self._batch_features(padded_refs, box)
                with self._autocast():
                    out = self._forward(
                        clip[..., y0:y1, x0:x1], reference_features=features, outputs=keep
                    )
                weight = blend_weights(box, ph, pw, self.overlap).to(self.device)
                result[..., y0:y1, x0:x1] += out.float() * weight
                total[y0:y1, x0:x1] += weight
            result = result / total
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.network_seconds += time.perf_counter() - started
        self.frame_passes += sum(len(job.frames) for job in jobs) * len(boxes)
        degraded = clip[:, keep[0] : keep[1]]
        result = self._finish(result[..., :height, :width].flatten(0, 1), degraded.flatten(0, 1))
        images = result.clamp(0, 1).mul(255).round().byte().unflatten(0, (len(jobs), -1))
        array = images.permute(0, 1, 3, 4, 2).cpu().numpy()
        return [list(window) for window in array]

    def _finish(self, restored: torch.Tensor, degraded: torch.Tensor) -> torch.Tensor:
        """The fidelity guards (engine/fidelity.py) between the network and the written frame."""
        degraded = degraded[..., : restored.shape[-2], : restored.shape[-1]].float()
        restored = restored.clamp(0, 1)
        if self.colour_guard:
            restored = colour_guard(restored, degraded)
        return apply_strength(restored, degraded, self.strength)

    def _batch_features(
        self, padded_refs: list[dict[int, torch.Tensor]], box: tuple[int, int, int, int]
    ) -> dict[int, torch.Tensor] | None:
        per_job = [self._reference_features(refs, box) for refs in padded_refs]
        if per_job[0] is None:
            return None
        if len(per_job) == 1:
            return per_job[0]
        return {level: torch.cat([f[level] for f in per_job if f], dim=0) for level in per_job[0]}


def _batch_key(job: WindowJob) -> tuple[Any, ...]:
    """Windows with equal keys run in one batched pass."""
    return (len(job.frames), job.frames[0].shape, job.keep, len(job.references or []))


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
    precision: str = "fp32"  # autocast precision the network ran in (fp32, bf16, fp16)
    execution: dict[str, Any] = field(default_factory=dict)  # devices, workers, threads, batch

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
    workers: int | None = None,
    threads: int | None = None,
    cores: int | None = None,
    precision: str = "auto",
    batch: int | None = None,
    compile: bool = False,
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
    `device`, `workers`, `threads`, `cores`, `batch`: where windows run
    (execution.plan_execution: by default one worker process per usable CPU core with one
    thread each, or every GPU); `compile`: torch.compile the network (GPUs);
    `precision`: auto, fp32, bf16 or fp16 autocast (auto: bf16 where the hardware has it).
    Decoding and encoding run in their own threads beside the network (streaming.py).
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
    tile_size = tile_size_for(tile, info.width, info.height)
    execution = plan_execution(
        device,
        workers=workers,
        threads=threads,
        precision=precision,
        batch=batch,
        cores=cores,
        work_mpx=count * info.width * info.height / 1e6,
    )
    frame_scorer = get_scorer(scorer) if isinstance(scorer, str) else scorer
    if frame_scorer is None and (references > 0 or scores is None):
        frame_scorer = get_scorer("none")
    # Workers start now: they load while the input is scored.
    strength_value = parse_strength(strength)
    options = {
        "tile": tile_size,
        "tile_overlap": tile_overlap,
        "precision": precision,
        "strength": strength_value,
        "colour_guard": colour_guard,
    }
    with WindowPool(net, execution, restorer_options={**options, "compile": compile}) as pool:
        # 1. Scores (one streaming pass) and the reference pool (a second, partial decode).
        phase = time.perf_counter()
        if scores is None:
            assert frame_scorer is not None
            scores = score_video(
                src, frame_scorer, start=start, end=end, deinterlace=deinterlace, cancel=cancel
            )
        if not (scores.start <= start and scores.start + len(scores) >= end):
            raise ConfigError(
                f"scores cover frames {scores.start}..{scores.start + len(scores)}, "
                f"not {start}..{end}"
            )
        timings["score_input"] = time.perf_counter() - phase
        phase = time.perf_counter()
        pool_refs = ReferencePool.build(scores, size=pool_size) if references > 0 else None
        if pool_refs is not None:
            pool_refs.fetch(src, deinterlace=deinterlace)
        timings["fetch_references"] = time.perf_counter() - phase
        phase = time.perf_counter()
        precisions = pool.precisions()
        timings["workers_ready"] = time.perf_counter() - phase

        # 2. Windows, streamed: reader thread -> network -> writer thread (master, access
        # copy, output scores).
        used: list[dict[str, Any]] = []

        def pick_references(item: Window) -> list[tuple[int, np.ndarray]] | None:
            if pool_refs is None:
                return None
            frames = list(range(start + item.begin, start + item.end))
            chosen = pool_refs.select(window_query(scores, frames), references, exclude=set(frames))
            used.append(
                {"frames": [start + item.out_begin, start + item.out_end], "references": chosen}
            )
            return [(index, pool_refs.frames[index]) for index in chosen]

        clean = pass_through_mask(scores, start, end) if keep_clean else np.zeros(count, dtype=bool)
        output_scorer = (
            BatchScorer(frame_scorer, start=start) if score_output and frame_scorer else None
        )
        phase = time.perf_counter()
        with torch_threads(execution.threads if execution.in_process else 1):
            counts = stream_windows(
                src,
                dst,
                info=info,
                start=start,
                end=end,
                deinterlace=deinterlace,
                access_copy=access_copy,
                master_pixel_format=master_pixel_format,
                plan=plan_windows(count, window, margin),
                pool=pool,
                clean=clean,
                pick_references=pick_references,
                output_scorer=output_scorer,
                progress=progress,
                cancel=cancel,
            )
        timings["restore"] = time.perf_counter() - phase
    timings["network"] = pool.stats.network_seconds
    scores_after = output_scorer.result() if output_scorer is not None else None
    timings["score_output"] = output_scorer.seconds if output_scorer is not None else 0.0
    timings["total"] = time.perf_counter() - started
    card = getattr(net, "card", None) or {}
    precision_used = "+".join(precisions)
    return RestoreResult(
        src=str(src),
        dst=str(dst),
        access_copy=str(access_copy) if access_copy is not None else None,
        frames=count,
        start=start,
        end=end,
        model=str(config["name"]),
        weights_sha256=card.get("sha256"),
        device=",".join(sorted(set(execution.devices))),
        dtype=_DTYPE_NAMES.get(precision_used, precision_used),
        window=window,
        margin=margin,
        tile=tile_size,
        reference_count=references,
        scorer=scores.scorer,
        timings={k: round(v, 4) for k, v in timings.items()},
        computations_per_frame=counts.network_frames / count,
        scores_before=scores,
        scores_after=scores_after,
        references_used=used,
        reference_pool=[int(i) for i in pool_refs.indices] if pool_refs is not None else [],
        keep_clean=keep_clean,
        strength=strength_value,
        colour_guard=colour_guard,
        passed_through=counts.passed_through,
        windows_skipped=counts.windows_skipped,
        precision=precision_used,
        execution={
            **execution.to_dict(),
            "worker_peak_rss_mb": round(pool.stats.worker_peak_rss_mb, 1),
        },
    )


_DTYPE_NAMES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


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
        tile=tile_size_for(tile, photo.shape[1], photo.shape[0]),
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
