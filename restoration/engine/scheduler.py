"""Windows in flight: decoded frames in, restored frames out in order, the network never idle.

The caller's thread walks the window plan: it takes frames from the reader thread, picks each
window's references, and hands windows to the pool (in chunks of `batch`, at most `in_flight`
chunks outstanding); finished windows go to the writer thread in plan order. Windows whose
output frames are all clean skip the network, but still wait for their turn in the order.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .exceptions import CancelledError
from .execution import ChunkResult, WindowJob, WindowPool
from .planning import Window
from .references import BatchScorer
from .streaming import FrameReader, FrameWriter
from .video import CancelHook, ProgressCallback, frame_to_rgb, iter_av_frames
from .writers import AccessWriter, MasterWriter

# (window, its frame indices in the video) -> chosen reference frames, with their images
ReferencePicker = Callable[[Window], list[tuple[int, np.ndarray]] | None]


@dataclass
class _Chunk:
    jobs: list[WindowJob] = field(default_factory=list)
    future: Future[ChunkResult] | None = None
    result: ChunkResult | None = None


@dataclass
class _Pending:
    window: Window
    kept: list[np.ndarray]  # the decoded frames the window outputs (pass-through source)
    times: list[float | None]
    clean: np.ndarray  # per kept frame: write the decoded frame unchanged
    chunk: _Chunk | None = None  # None: every kept frame is clean, no network pass
    index: int = 0  # position of this window's job in its chunk


@dataclass
class WindowCounts:
    network_frames: int = 0  # frames pushed through the network (window lengths summed)
    passed_through: int = 0
    windows_skipped: int = 0


def run_windows(
    plan: list[Window],
    *,
    reader: FrameReader,
    pool: WindowPool,
    writer: FrameWriter,
    clean: np.ndarray,
    pick_references: ReferencePicker,
    progress: ProgressCallback | None = None,
    cancel: CancelHook | None = None,
) -> WindowCounts:
    """Restore every window of `plan` (frames relative to the restored range) in order."""
    run = _WindowRun(pool, writer, total=plan[-1].out_end if plan else 0, progress=progress)
    for window in plan:
        if cancel is not None and cancel():
            done = run.pending[0].window.out_begin if run.pending else window.out_begin
            raise CancelledError(f"restoration cancelled after {done} of {run.total} frames")
        reader.release(window.begin)  # window begins never move backwards
        frames, times = reader.get(window.begin, window.end)
        keep = (window.out_begin - window.begin, window.out_end - window.begin)
        out_clean = clean[window.out_begin : window.out_end]
        entry = _Pending(window, frames[keep[0] : keep[1]], times[keep[0] : keep[1]], out_clean)
        if out_clean.all():
            run.counts.windows_skipped += 1
        else:
            run.add_job(entry, WindowJob(frames, pick_references(window), keep))
        run.pending.append(entry)
        run.drain(everything=False)
    run.submit()
    run.drain(everything=True)
    return run.counts


class _WindowRun:
    """The windows of one run between the plan walk and the writer: chunks sent to the pool,
    windows waiting for their turn, and the counts."""

    def __init__(
        self,
        pool: WindowPool,
        writer: FrameWriter,
        *,
        total: int,
        progress: ProgressCallback | None,
    ) -> None:
        self.pool = pool
        self.writer = writer
        self.total = total
        self.progress = progress
        self.counts = WindowCounts()
        self.pending: deque[_Pending] = deque()
        self.chunk = _Chunk()
        self.outstanding: deque[_Chunk] = deque()
        self.started = time.perf_counter()
        # Windows that skip the network wait behind running ones: bound them too (memory).
        self.max_pending = 2 * pool.in_flight * pool.plan.batch + 4

    def add_job(self, entry: _Pending, job: WindowJob) -> None:
        entry.chunk, entry.index = self.chunk, len(self.chunk.jobs)
        self.chunk.jobs.append(job)
        self.counts.network_frames += entry.window.end - entry.window.begin
        if len(self.chunk.jobs) >= self.pool.plan.batch:
            self.submit()

    def submit(self) -> None:
        if self.chunk.jobs:
            self.chunk.future = self.pool.submit(self.chunk.jobs)
            self.outstanding.append(self.chunk)
            self.chunk = _Chunk()

    def drain(self, *, everything: bool) -> None:
        while self.pending:
            head = self.pending[0].chunk
            if head is not None and head.future is None:
                return  # its chunk is still being filled
            ready = head is None or head.result is not None
            ready = ready or bool(head is not None and head.future and head.future.done())
            full = (
                len(self.outstanding) > self.pool.in_flight or len(self.pending) > self.max_pending
            )
            if not (everything or ready or full):
                return
            self._complete(self.pending.popleft())

    def _complete(self, entry: _Pending) -> None:
        if entry.chunk is None:
            images = entry.kept
        else:
            if entry.chunk.result is None:
                assert entry.chunk.future is not None
                entry.chunk.result = self.pool.result(entry.chunk.future)
                self.outstanding.remove(entry.chunk)
            restored = entry.chunk.result.images[entry.index]
            images = [
                original if is_clean else image
                for original, image, is_clean in zip(entry.kept, restored, entry.clean, strict=True)
            ]
        for image, time_s in zip(images, entry.times, strict=True):
            self.writer.put(image, time_s)
        self.counts.passed_through += int(entry.clean.sum())
        if self.progress is not None:
            done = entry.window.out_end
            elapsed = time.perf_counter() - self.started
            self.progress(done, self.total, elapsed / done * (self.total - done))


def stream_windows(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    info: Any,
    start: int,
    end: int,
    deinterlace: str,
    access_copy: str | os.PathLike[str] | None,
    master_pixel_format: str | None,
    plan: list[Window],
    pool: WindowPool,
    clean: np.ndarray,
    pick_references: Any,
    output_scorer: BatchScorer | None,
    progress: ProgressCallback | None,
    cancel: CancelHook | None,
) -> WindowCounts:
    """Decode (reader thread), run the windows, encode and score the output (writer thread)."""
    time_range = None
    if start > 0 or end < info.frame_count:
        begin_s = info.start_time_s + float(start / info.frame_rate)
        time_range = (begin_s, info.start_time_s + float(end / info.frame_rate))
    progressive = deinterlace != "off"
    depth = 2 * (plan[0].end - plan[0].begin) if plan else 8
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

        def write(image: np.ndarray, time_s: float | None) -> None:
            master.write(image, time_s=time_s)
            if access is not None:
                access.write(image, time_s=time_s)
            if output_scorer is not None:
                output_scorer.add(image)

        writer = FrameWriter(write, depth=depth)
        try:
            frames = iter_av_frames(src, start=start, end=end, deinterlace=deinterlace)
            with FrameReader(frames, convert=frame_to_rgb, ahead=depth) as reader:
                counts = run_windows(
                    plan,
                    reader=reader,
                    pool=pool,
                    writer=writer,
                    clean=clean,
                    pick_references=pick_references,
                    progress=progress,
                    cancel=cancel,
                )
            writer.finish()
        except BaseException:
            writer.abort()
            if access is not None:
                access.abort()
            raise
        if access is not None:
            access.close()
    return counts
