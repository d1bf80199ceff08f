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
scale pass nothing through), and no noisier than the quiet frames around them (a classical noise
measure, noise.noisier_than_neighbours: the scorer learnt one damage family and calls some
frames of unseen noise clean) are written unchanged: the network only
ever sees them as context. The shipped model slightly degrades frames that are already clean (on
the quality benchmark's "light" preset it scored below its own input), and windows whose output
frames are all clean skip the network entirely, which is also a speed win.

References. Each window selects D reference frames from a bounded pool of clean frames (see
references.py); their encoder features are computed once per (frame, tile) and cached, so a
reference used by many windows costs one encoder pass.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import ConfigError, WeightsError
from .execution import (
    ExecutionOptions,
    ExecutionPlan,
    WindowPool,
    resolve_device,
    torch_threads,
)
from .fidelity import parse_strength
from .models import RestorationNet, create_model, default_weights, list_models
from .planning import (
    Window,
    default_margin,
    pass_through_mask,
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
from .restorer import WindowRestorer
from .scheduler import WindowCounts, stream_windows
from .video import (
    DEINTERLACE_MODES,
    CancelHook,
    ProgressCallback,
    VideoInfo,
    probe,
)

# ---------------------------------------------------------------------------------------------
# Models


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


@dataclass(frozen=True)
class RestoreOptions:
    """How the network is applied to a video's frames (module docstring: windows, tiles, clean
    frames, references)."""

    window: int | None = None  # frames per window (default: the model's)
    margin: int | None = None  # frames each window shares with each neighbour (planning.py)
    references: int | None = None  # per window (default: the model's); 0 disables fusion
    pool_size: int = 32  # clean frames the references are chosen from
    # Pixels per tile side; None: whole frames; "auto": whole frames up to about 1 Mpixel, 512
    # above.
    tile: int | str | None = "auto"
    tile_overlap: int = 32  # pixels two tiles share (blended with linear ramps)
    # Frames scored clean (`FrameScores.clean_mask`) are written exactly as decoded and windows
    # whose output frames are all clean skip the network; when the scores have no spread at all
    # (the scorer cannot tell frames apart) every frame is restored.
    keep_clean: bool = True
    strength: str | float = "standard"  # share of the network's change kept (fidelity.py)
    colour_guard: bool = True  # undo colour shifts the network introduces (fidelity.py)


@dataclass(frozen=True)
class OutputOptions:
    """What is written besides the FFV1/MKV master."""

    access_copy: str | os.PathLike[str] | None = None  # also an H.264/MP4 access copy here
    master_pixel_format: str | None = None  # the master's pixel format (default: the source's)
    score_output: bool = True  # score the restored frames (`RestoreResult.scores_after`)


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
    start: int = 0,
    end: int | None = None,
    deinterlace: str = "off",
    options: RestoreOptions | None = None,
    execution: ExecutionOptions | None = None,
    output: OutputOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelHook | None = None,
) -> RestoreResult:
    """Restore frames [start, end) of `src` into an FFV1/MKV master at `dst`.

    `model`: a variant name (its shipped weights, or `checkpoint`) or a loaded network.
    `scores` may carry precomputed scores for the whole video (the portal keeps them per
    capture); otherwise the frames are scored first with `scorer`. `options`, `execution` and
    `output` default to their dataclasses' defaults. Decoding and encoding run in their own
    threads beside the network (streaming.py).
    """
    started = time.perf_counter()
    execution = execution or ExecutionOptions()
    net = load_model(model, checkpoint) if isinstance(model, str) else model
    run = _VideoRun.plan(
        net,
        src,
        dst,
        options or RestoreOptions(),
        output or OutputOptions(),
        start=start,
        end=end,
        deinterlace=deinterlace,
    )
    plan = execution.plan(work_mpx=run.count * run.info.width * run.info.height / 1e6)
    frame_scorer = get_scorer(scorer) if isinstance(scorer, str) else scorer
    if frame_scorer is None and (run.references > 0 or scores is None):
        frame_scorer = get_scorer("none")
    # Workers start now: they load while the input is scored.
    with WindowPool(
        net, plan, restorer_options=run.restorer_options(execution), keep=execution.keep_workers
    ) as pool:
        # 1. Scores (one streaming pass) and the reference pool (a second, partial decode).
        scores = run.score(scores, frame_scorer, cancel=cancel)
        refs = run.fetch_references(scores)
        with run.phase("workers_ready"):
            precisions = pool.precisions()
        # 2. Windows, streamed: reader thread -> network -> writer thread (master, access
        # copy, output scores).
        output_scorer = (
            BatchScorer(frame_scorer, start=start, measure_noise=False)  # output: report only
            if run.output.score_output and frame_scorer is not None
            else None
        )
        with run.phase("restore"), torch_threads(plan.threads if plan.in_process else 1):
            counts = run.stream(scores, refs, pool, output_scorer, progress, cancel)
    return run.result(
        net,
        plan,
        pool,
        started=started,
        scores=scores,
        output_scorer=output_scorer,
        refs=refs,
        counts=counts,
        precision="+".join(precisions),
    )


@dataclass
class _VideoRun:
    """What one restore_video call settled before decoding, its timings, and its report."""

    src: str | os.PathLike[str]
    dst: str | os.PathLike[str]
    info: VideoInfo
    start: int
    end: int
    deinterlace: str
    window: int
    margin: int
    references: int
    tile: int | None
    strength: float
    options: RestoreOptions
    output: OutputOptions
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def plan(
        cls,
        net: RestorationNet,
        src: str | os.PathLike[str],
        dst: str | os.PathLike[str],
        options: RestoreOptions,
        output: OutputOptions,
        *,
        start: int,
        end: int | None,
        deinterlace: str,
    ) -> _VideoRun:
        """The model's window and references unless given, the frame range checked against
        the video, and the tile size for its frames."""
        window = int(options.window or net.config["window"])
        references = int(
            net.config["references"] if options.references is None else options.references
        )
        margin = default_margin(window) if options.margin is None else options.margin
        _check_options(window, references, start, end, deinterlace)
        strength = parse_strength(options.strength)
        info = probe(src)
        end = min(end if end is not None else info.frame_count, info.frame_count)
        if start >= end:
            raise ConfigError(
                f"start frame {start} is past the end of the video ({info.frame_count} frames)"
            )
        tile = tile_size_for(options.tile, info.width, info.height)
        return cls(
            src,
            dst,
            info,
            start,
            end,
            deinterlace,
            window,
            margin,
            references,
            tile,
            strength,
            options,
            output,
        )

    @property
    def count(self) -> int:
        return self.end - self.start

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as ``timings[name]`` (seconds)."""
        started = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - started

    def restorer_options(self, execution: ExecutionOptions) -> dict[str, Any]:
        """The WindowRestorer's settings, the same in every worker."""
        return {
            "tile": self.tile,
            "tile_overlap": self.options.tile_overlap,
            "precision": execution.precision,
            "strength": self.strength,
            "colour_guard": self.options.colour_guard,
            "compile": execution.compile,
        }

    def score(
        self, scores: FrameScores | None, scorer: FrameScorer | None, *, cancel: CancelHook | None
    ) -> FrameScores:
        """`scores` when given, else the frames of the range scored in one streaming pass."""
        with self.phase("score_input"):
            if scores is None:
                assert scorer is not None
                scores = score_video(
                    self.src,
                    scorer,
                    start=self.start,
                    end=self.end,
                    deinterlace=self.deinterlace,
                    cancel=cancel,
                )
        return scores

    def fetch_references(self, scores: FrameScores) -> _References:
        """Check that `scores` cover the range and decode the pool (none for 0 references)."""
        if not (scores.start <= self.start and scores.start + len(scores) >= self.end):
            raise ConfigError(
                f"scores cover frames {scores.start}..{scores.start + len(scores)}, "
                f"not {self.start}..{self.end}"
            )
        with self.phase("fetch_references"):
            size = self.options.pool_size
            pool = ReferencePool.build(scores, size=size) if self.references > 0 else None
            if pool is not None:
                pool.fetch(self.src, deinterlace=self.deinterlace)
        return _References(scores, self.references, self.start, pool)

    def stream(
        self,
        scores: FrameScores,
        refs: _References,
        pool: WindowPool,
        output_scorer: BatchScorer | None,
        progress: ProgressCallback | None,
        cancel: CancelHook | None,
    ) -> WindowCounts:
        """Decode, restore and write the range (scheduler.stream_windows); clean frames pass
        through when `keep_clean`."""
        if self.options.keep_clean:
            clean = pass_through_mask(scores, self.start, self.end)
        else:
            clean = np.zeros(self.count, dtype=bool)
        return stream_windows(
            self.src,
            self.dst,
            info=self.info,
            start=self.start,
            end=self.end,
            deinterlace=self.deinterlace,
            access_copy=self.output.access_copy,
            master_pixel_format=self.output.master_pixel_format,
            plan=plan_windows(self.count, self.window, self.margin),
            pool=pool,
            clean=clean,
            pick_references=refs.pick,
            output_scorer=output_scorer,
            progress=progress,
            cancel=cancel,
        )

    def result(
        self,
        net: RestorationNet,
        execution: ExecutionPlan,
        pool: WindowPool,
        *,
        started: float,
        scores: FrameScores,
        output_scorer: BatchScorer | None,
        refs: _References,
        counts: WindowCounts,
        precision: str,
    ) -> RestoreResult:
        """The report of the run; `started`: when restore_video began (the total time)."""
        scores_after = output_scorer.result() if output_scorer is not None else None
        self.timings["network"] = pool.stats.network_seconds
        self.timings["score_output"] = output_scorer.seconds if output_scorer is not None else 0.0
        self.timings["total"] = time.perf_counter() - started
        access_copy = self.output.access_copy
        return RestoreResult(
            src=str(self.src),
            dst=str(self.dst),
            access_copy=str(access_copy) if access_copy is not None else None,
            frames=self.count,
            start=self.start,
            end=self.end,
            model=str(net.config["name"]),
            weights_sha256=(getattr(net, "card", None) or {}).get("sha256"),
            device=",".join(sorted(set(execution.devices))),
            dtype=_DTYPE_NAMES.get(precision, precision),
            window=self.window,
            margin=self.margin,
            tile=self.tile,
            reference_count=self.references,
            scorer=scores.scorer,
            timings={k: round(v, 4) for k, v in self.timings.items()},
            computations_per_frame=counts.network_frames / self.count,
            scores_before=scores,
            scores_after=scores_after,
            references_used=refs.used,
            reference_pool=refs.pool_indices(),
            keep_clean=self.options.keep_clean,
            strength=self.strength,
            colour_guard=self.options.colour_guard,
            passed_through=counts.passed_through,
            windows_skipped=counts.windows_skipped,
            precision=precision,
            execution={
                **execution.to_dict(),
                "worker_peak_rss_mb": round(pool.stats.worker_peak_rss_mb, 1),
                "workers_reused": pool.reused,
            },
        )


@dataclass
class _References:
    """One run's reference pool and, for the report, the references each window used."""

    scores: FrameScores
    per_window: int
    start: int
    pool: ReferencePool | None
    used: list[dict[str, Any]] = field(default_factory=list)

    def pick(self, item: Window) -> list[tuple[int, np.ndarray]] | None:
        if self.pool is None:
            return None
        frames = list(range(self.start + item.begin, self.start + item.end))
        query = window_query(self.scores, frames)
        chosen = self.pool.select(query, self.per_window, exclude=set(frames))
        out = [self.start + item.out_begin, self.start + item.out_end]
        self.used.append({"frames": out, "references": chosen})
        return [(index, self.pool.frames[index]) for index in chosen]

    def pool_indices(self) -> list[int]:
        return [int(i) for i in self.pool.indices] if self.pool is not None else []


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
