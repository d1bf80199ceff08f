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
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

import restoration.engine as engine_package
from portal.storage import local_copy
from restoration.engine.registry import default_weights
from restoration.progress import ProgressWriter, worker_host
from restoration.shutdown import in_restoration_cluster

if TYPE_CHECKING:
    from restoration.models import RestorationJob


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
    candidates.append(default_weights(variant))
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


# --------------------------------------------------------------------------------------------
# Scores and preview window


def score_video(
    path: str | Path,
    scorer: Any,
    *,
    start: int,
    end: int,
    deinterlace: str,
    progress: ProgressWriter,
) -> Any:
    """Per-frame artifact scores (FrameScores) of frames [start, end) in one streaming pass,
    with progress (the heartbeat) and the cancel hook."""
    from restoration.engine.references import score_video as engine_score_video

    return engine_score_video(
        path,
        scorer,
        start=start,
        end=end,
        deinterlace=deinterlace,
        total=end - start,
        progress=progress,
        cancel=progress.cancelled,
    )


def _rounded(values: Any) -> list[float]:
    """JSON-safe per-frame scores (4 decimals; a non-finite score counts as fully degraded)."""
    return [round(float(value), 4) if math.isfinite(float(value)) else 1.0 for value in values]


def preview_window(
    scores: list[float], *, frame_count: int, fps: float, seconds: float
) -> tuple[int, int]:
    """[start, end) of ``seconds`` of video around the worst frames.

    The window with the highest total artifact score wins (a bad stretch counts more than a
    single bad frame); when several windows tie (they all hold the same bad stretch), the middle
    one, which centres the stretch. With no scores (or all equal) the window starts at 0.
    """
    length = max(1, min(frame_count, round(seconds * fps)))
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


def run_pipeline(
    *, job: RestorationJob, work_dir: Path, progress: ProgressWriter
) -> PipelineResult:
    from restoration.engine.inference import OutputOptions, RestoreOptions, restore_video
    from restoration.engine.references import get_scorer
    from restoration.engine.video import probe

    params = dict(job.parameters)
    variant = str(params["model"])
    deinterlace = str(params.get("deinterlace") or "off")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    with local_copy(job.capture.original) as src:
        timings["fetch_s"] = _since(started)
        info = probe(src)
        progress.set_stage("loading model")
        t0 = time.perf_counter()
        checkpoint, model, execution = _load(variant)
        device = ",".join(dict.fromkeys(execution.plan().devices))
        progress.set_device(device)
        scorer = get_scorer(str(params.get("scorer") or "none"))
        timings["load_s"] = _since(t0)

        start = int(params.get("frame_start") or 0)
        end = min(int(params.get("frame_end") or info.frame_count), info.frame_count)
        # Scores first, in our own pass: it reports progress (the heartbeat) on long captures,
        # picks a preview's segment, and is handed to the engine so it does not score again.
        t0 = time.perf_counter()
        progress.set_stage("scoring frames", total=end - start)
        scores = score_video(
            src, scorer, start=start, end=end, deinterlace=deinterlace, progress=progress
        )
        if params.get("preview"):
            offset, stop = preview_window(
                _rounded(scores.artifact),
                frame_count=end - start,
                fps=float(info.frame_rate) if info.frame_rate else 25.0,
                seconds=float(params.get("preview_seconds") or 10.0),
            )
            start, end = start + offset, start + stop
        timings["score_before_s"] = _since(t0)

        master = work_dir / "master.mkv"
        access = work_dir / "access.mp4"
        progress.set_stage("restoring", total=end - start)
        t0 = time.perf_counter()
        timings["engine_start_unix"] = time.time()
        result = restore_video(
            src,
            master,
            model=model,
            scorer=scorer,
            scores=scores,
            start=start,
            end=end,
            deinterlace=deinterlace,
            options=RestoreOptions(
                references=params.get("references"),
                tile=settings.RESTORATION_TILE or "auto",
                strength=params.get("strength") or "standard",
            ),
            execution=execution,
            output=OutputOptions(access_copy=access),
            progress=progress,
            cancel=progress.cancelled,
        )
        timings["restore_s"] = _since(t0)

    first = start - scores.start
    before = _rounded(scores.artifact[first : first + (end - start)])
    after = _rounded(result.scores_after.artifact) if result.scores_after is not None else []
    # The engine's own phases ("engine_total_s" is its total, restoring only); then ours, from
    # fetching the capture to the finished files (the worker adds storing).
    timings.update({f"engine_{key}_s": value for key, value in result.timings.items()})
    timings["pipeline_total_s"] = _since(started)
    return PipelineResult(
        master_path=master,
        access_path=access,
        frame_start=start,
        frame_end=end,
        frame_count=end - start,
        frame_rate=_fraction_text(Fraction(info.frame_rate)),
        model_variant=result.model,
        weights_sha256=str(result.weights_sha256 or ""),
        scorer=result.scorer,
        engine_version=engine_version(),
        device=result.device,
        scores_before=before,
        scores_after=after,
        effective_parameters={
            "frame_start": start,
            "frame_end": end,
            "references": result.reference_count,
            "reference_pool": result.reference_pool,
            "window": result.window,
            "margin": result.margin,
            "tile": result.tile,
            "device": result.device,
            "dtype": result.dtype,
            "precision": result.precision,
            "workers": result.execution.get("workers", 1),
            "threads": result.execution.get("threads", 1),
            "checkpoint": checkpoint.name,
        },
        timings=timings,
    )


def _load(variant: str) -> tuple[Path, Any, Any]:
    """(checkpoint, model, ExecutionOptions) of a variant as this worker is configured."""
    from restoration.engine.exceptions import WeightsError
    from restoration.engine.execution import ExecutionOptions
    from restoration.engine.models import create_model

    checkpoint = checkpoint_for(variant)
    if checkpoint is None:
        raise WeightsError(
            f"No weights are installed for model {variant!r} on worker {_host()}: put "
            f"{variant}.safetensors and {variant}.json in RESTORATION_CHECKPOINT_DIR, "
            "or choose another model."
        )
    execution = ExecutionOptions(
        device=settings.RESTORATION_DEVICE,
        cores=settings.RESTORATION_CORES or None,
        precision=settings.RESTORATION_PRECISION,
        batch=settings.RESTORATION_GPU_BATCH or None,
        # Kept between jobs only by a restoration cluster's worker processes, which serve a
        # queue; a web process running a job synchronously or a shell lets them go.
        keep_workers=settings.RESTORATION_KEEP_WORKERS and in_restoration_cluster(),
    )
    return checkpoint, create_model(variant, checkpoint=checkpoint), execution


#: The warm-up clip: PAL SD, the commonest capture size, long enough for a window and references.
WARM_UP_SIZE = (576, 720)
WARM_UP_FRAMES = 24


def warm_up(work_dir: Path, *, cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Restore a short synthetic SD clip exactly as a job would (default model and scorer, this
    worker's device, precision and tile settings, master and access copy), so that the costs a
    process pays once (model load, the kernels and thread pools of torch, codec start-up,
    allocator arenas: about 250 MB of resident memory on a CPU worker) come when the worker
    starts, not inside its first job. `cancel` stops it at the next window (a worker asked to
    stop). Returns what was run and how long it took."""
    from restoration.engine.inference import OutputOptions, RestoreOptions, restore_video
    from restoration.engine.references import get_scorer

    started = time.perf_counter()
    work_dir.mkdir(parents=True, exist_ok=True)
    src = work_dir / "warm-up.mkv"
    _write_warm_up_clip(src)
    variant = settings.RESTORATION_DEFAULT_MODEL
    _, model, execution = _load(variant)
    result = restore_video(
        src,
        work_dir / "master.mkv",
        model=model,
        scorer=get_scorer(settings.RESTORATION_DEFAULT_SCORER),
        options=RestoreOptions(tile=settings.RESTORATION_TILE or "auto"),
        execution=execution,
        output=OutputOptions(access_copy=work_dir / "access.mp4"),
        cancel=cancel,
    )
    return {
        "model": variant,
        "device": result.device,
        "frames": result.frames,
        "seconds": _since(started),
    }


def _write_warm_up_clip(path: Path) -> None:
    """Moving gradients with grain, FFV1 4:2:2 in Matroska (as digitised tapes arrive)."""
    import av
    import numpy as np

    height, width = WARM_UP_SIZE
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0.0 : 1.0 : complex(height), 0.0 : 1.0 : complex(width)]
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv422p"
        for index in range(WARM_UP_FRAMES):
            phase = index / WARM_UP_FRAMES
            base = np.stack(
                [
                    0.5 + 0.4 * np.sin(6.0 * x + 2.0 * phase),
                    0.5 + 0.4 * np.sin(5.0 * y + 3.0 * phase),
                    0.5 + 0.4 * np.cos(4.0 * (x + y) + phase),
                ],
                axis=-1,
            )
            grain = rng.normal(0.0, 0.03, base.shape)
            rgb = (np.clip(base + grain, 0.0, 1.0) * 255.0).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv422p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def _host() -> str:
    return worker_host()
