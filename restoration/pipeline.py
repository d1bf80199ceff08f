"""The engine side of a job: what a worker does between claiming a job and storing its files.

This is the only module of the Django app that calls the engine (``restoration.engine``); it
turns a job's stored parameters into explicit engine arguments (CONVENTIONS: the engine never
reads settings) and returns a ``PipelineResult`` for ``restoration.worker`` to store.

Steps: probe the capture; pick the frame range (a preview: ``preview_seconds`` centred on the
worst frames by artifact score, or the start of the capture when no scorer is available);
restore it into a master (FFV1/MKV) and an access copy (H.264/MP4) in the job's scratch
directory; score the restored frames with the same scorer for the before/after timeline.
Torch and the engine are imported lazily so the web process never loads them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

import restoration.engine as engine_package

if TYPE_CHECKING:
    from restoration.models import RestorationJob
    from restoration.worker import ProgressWriter

SHIPPED_WEIGHTS_DIR = Path(engine_package.__file__).resolve().parent / "weights"


@dataclass
class PipelineResult:
    master_path: Path
    access_path: Path
    frame_start: int
    frame_end: int
    frame_count: int
    frame_rate: str
    model_variant: str
    weights_sha256: str
    scorer: str
    engine_version: str
    device: str
    scores_before: list[float]
    scores_after: list[float]
    effective_parameters: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Configuration lookups


def checkpoint_for(variant: str) -> Path | None:
    """``<RESTORATION_CHECKPOINT_DIR>/<variant>.safetensors``, else the shipped weights."""
    candidates = []
    if settings.RESTORATION_CHECKPOINT_DIR:
        candidates.append(Path(settings.RESTORATION_CHECKPOINT_DIR) / f"{variant}.safetensors")
    candidates.append(SHIPPED_WEIGHTS_DIR / f"{variant}.safetensors")
    for path in candidates:
        if path.exists() and path.with_suffix(".json").exists():
            return path
    return None


def engine_version() -> str:
    """The engine's declared version, else the project's (package metadata)."""
    declared = getattr(engine_package, "__version__", None)
    if declared:
        return str(declared)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tape-archive")
    except PackageNotFoundError:
        return "unknown"


def resolve_device(requested: str) -> str:
    import torch

    if requested and requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


# --------------------------------------------------------------------------------------------
# Scores and preview window


def score_video(
    path: str | Path,
    scorer: Any,
    *,
    start: int,
    end: int,
    progress: ProgressWriter,
) -> list[float]:
    """Per-frame artifact scores of frames [start, end) in one streaming pass (the engine's
    ``score_video``), rounded for storage."""
    from restoration.engine.references import score_video as engine_score_video

    scores = engine_score_video(
        path,
        scorer,
        start=start,
        end=end,
        total=end - start,
        progress=progress,
        cancel=progress.cancelled,
    )
    return _rounded(scores.artifact)


def _rounded(values: Any) -> list[float]:
    return [round(float(value), 4) if math.isfinite(float(value)) else 1.0 for value in values]


def preview_window(
    scores: list[float], *, frame_count: int, fps: float, seconds: float
) -> tuple[int, int]:
    """[start, end) of ``seconds`` of video around the worst frames.

    The window with the highest total artifact score wins (a bad stretch counts more than a
    single bad frame); when several windows tie (they all hold the same bad stretch), the middle
    one, which centres the stretch. With no scores (or all equal) the window starts at 0.
    """
    length = max(1, min(frame_count, int(round(seconds * fps))))
    if not scores or max(scores) - min(scores) < 1e-6:
        return 0, length
    prefix = [0.0]
    for value in scores:
        prefix.append(prefix[-1] + value)
    sums = [prefix[start + length] - prefix[start] for start in range(len(scores) - length + 1)]
    best = max(sums)
    tied = [start for start, total in enumerate(sums) if total >= best - 1e-6]
    start = tied[len(tied) // 2]
    return start, start + length


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


# --------------------------------------------------------------------------------------------
# The run


def run_pipeline(*, job: RestorationJob, work_dir: Path, progress: ProgressWriter) -> PipelineResult:
    from portal.captures.services import local_file
    from restoration.engine.exceptions import WeightsError
    from restoration.engine.models import create_model
    from restoration.engine.video import probe

    params = dict(job.parameters)
    timings: dict[str, float] = {}
    variant = str(params["model"])
    started = time.perf_counter()

    with local_file(job.capture.original) as src:
        timings["fetch_s"] = round(time.perf_counter() - started, 3)
        info = probe(src)
        frame_total = info.frame_count
        fps = float(info.frame_rate) if info.frame_rate else 25.0

        progress.set_stage("loading model")
        checkpoint = checkpoint_for(variant)
        if checkpoint is None:
            raise WeightsError(
                f"No weights are installed for model {variant!r} on worker "
                f"{progress_host()}: put {variant}.safetensors and {variant}.json in "
                "RESTORATION_CHECKPOINT_DIR, or choose another model."
            )
        t0 = time.perf_counter()
        model = create_model(variant, checkpoint=checkpoint)
        card = getattr(model, "card", {}) or {}
        device = resolve_device(settings.RESTORATION_DEVICE)
        progress.set_device(device)
        scorer = _scorer(str(params.get("scorer") or "none"))
        timings["load_s"] = round(time.perf_counter() - t0, 3)

        start = int(params.get("frame_start") or 0)
        end = int(params.get("frame_end") or frame_total)
        end = min(end, frame_total)
        before: list[float] | None = None
        if params.get("preview"):
            t0 = time.perf_counter()
            progress.set_stage("finding worst frames", total=end - start)
            segment_scores = score_video(src, scorer, start=start, end=end, progress=progress)
            offset, stop = preview_window(
                segment_scores,
                frame_count=end - start,
                fps=fps,
                seconds=float(params.get("preview_seconds") or 10.0),
            )
            before = segment_scores[offset:stop]
            start, end = start + offset, start + stop
            timings["preview_scan_s"] = round(time.perf_counter() - t0, 3)

        master = work_dir / "master.mkv"
        access = work_dir / "access.mp4"
        progress.set_stage("restoring", total=end - start)
        t0 = time.perf_counter()
        engine_result = _restore(
            src,
            master,
            access,
            model=model,
            device=device,
            start=start,
            end=end,
            params=params,
            scorer=scorer,
            progress=progress,
        )
        timings["restore_s"] = round(time.perf_counter() - t0, 3)

        if before is None:
            before = _scores_from(engine_result)
        if before is None:
            t0 = time.perf_counter()
            progress.set_stage("scoring capture", total=end - start)
            before = score_video(src, scorer, start=start, end=end, progress=progress)
            timings["score_before_s"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    progress.set_stage("scoring result", total=end - start)
    after = score_video(master, scorer, start=0, end=end - start, progress=progress)
    timings["score_after_s"] = round(time.perf_counter() - t0, 3)
    timings["total_engine_s"] = round(time.perf_counter() - started, 3)

    return PipelineResult(
        master_path=master,
        access_path=access,
        frame_start=start,
        frame_end=end,
        frame_count=end - start,
        frame_rate=_fraction_text(Fraction(info.frame_rate)),
        model_variant=variant,
        weights_sha256=str(card.get("sha256", "")),
        scorer=str(getattr(scorer, "name", params.get("scorer"))),
        engine_version=engine_version(),
        device=device,
        scores_before=before,
        scores_after=after,
        effective_parameters={
            "frame_start": start,
            "frame_end": end,
            "references": _effective_references(model, params),
            "device": device,
            "tile": settings.RESTORATION_TILE or None,
            "checkpoint": checkpoint.name,
        },
        timings=timings,
    )


def progress_host() -> str:
    from restoration.worker import worker_host

    return worker_host()


def _effective_references(model: Any, params: dict[str, Any]) -> int:
    if params.get("references") is not None:
        return int(params["references"])
    return int(getattr(model, "config", {}).get("references", 0))


def _scorer(name: str) -> Any:
    """The reference selector / artifact scorer by name ("none" is the engine's classical
    no-reference fallback: it still scores every frame)."""
    from restoration.engine.references import get_scorer

    return get_scorer(name)


def _scores_from(engine_result: Any) -> list[float] | None:
    """Per-frame artifact scores the engine computed for reference selection, if it returns
    them (saves a second pass over the capture)."""
    scores = getattr(engine_result, "scores", None)
    artifact = getattr(scores, "artifact", None)
    if artifact is None:
        return None
    return _rounded(artifact)


def _restore(
    src: str,
    master: Path,
    access: Path,
    *,
    model: Any,
    device: str,
    start: int,
    end: int,
    params: dict[str, Any],
    scorer: Any,
    progress: ProgressWriter,
) -> Any:
    from restoration.engine.inference import restore_video

    return restore_video(
        src,
        master,
        model=model,
        device=device,
        start=start,
        end=end,
        references=params.get("references"),
        scorer=scorer,
        deinterlace=str(params.get("deinterlace") or "off"),
        tile=settings.RESTORATION_TILE or None,
        access_copy=access,
        progress=progress,
        cancel=progress.cancelled,
    )
