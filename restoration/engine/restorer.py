"""The window restorer: the network on one device, frames padded and tiled, reference features
cached per (frame, tile), the fidelity guards applied (see inference.py for the why of windows
and tiles)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .execution import WindowJob, precision_name, resolve_precision
from .fidelity import apply_strength, colour_guard
from .models import RestorationNet
from .planning import blend_weights, plan_tiles


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
