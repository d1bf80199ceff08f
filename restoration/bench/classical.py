"""Classical filters of the quality bench, run through PyAV's libavfilter.

Each filter is tried at a few strengths on the first clips of a preset, the best setting (by
PSNR) then runs on every clip: tuned on the benchmark itself, so generous to the baselines. The
runs go to a pool of worker processes (filters are single-threaded), so two cores halve the time.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np

# Filter name -> candidate settings (libavfilter option strings); "" = the filter's defaults.
CLASSICAL: dict[str, tuple[str, ...]] = {
    "nlmeans": ("s=3:p=7:r=9", "s=6:p=7:r=9", "s=12:p=7:r=9", "s=20:p=7:r=9", "s=30:p=7:r=9"),
    "atadenoise": (
        "",
        "0a=0.1:0b=0.5:1a=0.1:1b=0.5:2a=0.1:2b=0.5",
        "0a=0.3:0b=1:1a=0.3:1b=1:2a=0.3:2b=1",
        "0a=0.3:0b=3:1a=0.3:1b=3:2a=0.3:2b=3",
        "0a=0.3:0b=5:1a=0.3:1b=5:2a=0.3:2b=5",
    ),
    "tmedian": ("radius=1", "radius=2"),
    "median": ("radius=1",),  # 3x3 spatial median
    "fftdnoiz": ("sigma=6", "sigma=12", "sigma=24", "sigma=40", "sigma=64"),
    "bm3d": ("sigma=8", "sigma=15", "sigma=30", "sigma=50", "sigma=80"),
}
TEMPORAL_PAD = 5  # frames mirrored at each end so temporal filters see full neighbourhoods


def filter_clip(frames: np.ndarray, name: str, options: str) -> np.ndarray:
    """Run one libavfilter filter over a (T, H, W, 3) uint8 RGB clip; same shape out.

    The filter works in yuv444p (no chroma subsampling loss). Frames are mirrored at both
    ends so temporal filters neither drop nor shortchange the edge frames; output frames are
    matched to input frames by pts.
    """
    import av
    from av.filter import Graph

    count, h, w = frames.shape[:3]
    pad = min(TEMPORAL_PAD, count - 1)
    order = (
        list(range(pad, 0, -1)) + list(range(count)) + list(range(count - 2, count - 2 - pad, -1))
    )
    time_base = Fraction(1, 25)
    graph = Graph()
    nodes = [
        graph.add_buffer(width=w, height=h, format="rgb24", time_base=time_base),  # type: ignore[arg-type]
        graph.add("format", "yuv444p"),
        graph.add(name, options or None),
        graph.add("format", "rgb24"),
        graph.add("buffersink"),
    ]
    graph.link_nodes(*nodes).configure()
    by_pts: dict[int, np.ndarray] = {}

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            assert isinstance(frame, av.VideoFrame) and frame.pts is not None
            by_pts[int(frame.pts)] = frame.to_ndarray(format="rgb24")

    for pts, index in enumerate(order, start=-pad):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[index]), format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    missing = [i for i in range(count) if i not in by_pts]
    if missing:
        raise RuntimeError(f"{name}={options!r} returned no frame for pts {missing}")
    return np.stack([by_pts[i] for i in range(count)])


# ---------------------------------------------------------------------------- parallel runs


class InlineExecutor(Executor):
    """``submit`` runs at once in this process: the one-worker case, without a pool."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - handed to the caller through result()
            future.set_exception(error)
        return future


def make_executor(workers: int) -> Executor:
    """Worker processes for filter and BM3D runs (both single-threaded C code). "spawn":
    the parent has torch's thread pools, which a fork would copy half-initialised."""
    if workers <= 1:
        return InlineExecutor()
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=_exit_with_parent, initargs=(os.getpid(),)
    )


def _exit_with_parent(parent: int) -> None:
    """In a worker: leave as soon as the bench process is gone (killed, even by SIGKILL), so an
    interrupted run leaves no busy orphans on a shared machine."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def best_setting(
    pool: Executor,
    degraded: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    filters: dict[str, tuple[str, ...]],
    *,
    tuning_clips: int = 2,
) -> dict[str, tuple[str, list[np.ndarray]]]:
    """Each filter at its best setting (PSNR over the first ``tuning_clips`` clips) on every
    clip: name -> (setting, filtered clips). All runs go to ``pool`` at once."""
    from restoration.engine.metrics import pooled_psnr

    tune = range(min(tuning_clips, len(degraded)))
    trials = {
        (name, options): [pool.submit(filter_clip, degraded[i], name, options) for i in tune]
        for name, settings in filters.items()
        for options in settings
    }
    results: dict[str, tuple[str, list[Future[np.ndarray]]]] = {}
    for name, settings in filters.items():

        def score(options: str, name: str = name) -> float:
            runs = [f.result() for f in trials[(name, options)]]
            return pooled_psnr(list(zip(runs, targets, strict=False)))

        best = max(settings, key=score)
        rest = [pool.submit(filter_clip, d, name, best) for d in degraded[len(tune) :]]
        results[name] = (best, trials[(name, best)] + rest)
    return {name: (best, [f.result() for f in runs]) for name, (best, runs) in results.items()}
