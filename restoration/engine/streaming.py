"""Decode and encode beside the network: a reader thread and a writer thread, bounded queues.

The reader decodes and converts frames to RGB ahead of the windows that need them; the writer
encodes the master (and access copy) and scores the output while the next windows run. Both
queues are bounded, so memory stays flat in clip length; PyAV and the network release the GIL
while they work, so the threads overlap for real. An error in either thread is raised in the
caller at its next call (and stops the other side), never lost.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Self

import numpy as np

from .exceptions import InvalidVideoError

_END = object()
_POLL_S = 0.1


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class FrameReader:
    """Frames of a decoder iterator, decoded in a thread up to `ahead` frames in advance,
    kept in a sliding window (at most one window plus its stride)."""

    def __init__(
        self,
        frames: Iterator[Any],
        *,
        convert: Callable[[Any], np.ndarray],
        ahead: int = 8,
    ) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, ahead))
        self._stop = threading.Event()
        self._frames: deque[tuple[np.ndarray, float | None]] = deque()
        self._first = 0  # index of self._frames[0]
        self._ended = False
        self._thread = threading.Thread(
            target=self._run, args=(frames, convert), name="frame-reader", daemon=True
        )
        self._thread.start()

    def _run(self, frames: Iterator[Any], convert: Callable[[Any], np.ndarray]) -> None:
        try:
            for frame in frames:
                if not self._put((convert(frame), frame.time)):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._put(_Failure(exc))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _next(self) -> tuple[np.ndarray, float | None] | None:
        if self._ended:
            return None
        item = self._queue.get()
        if isinstance(item, _Failure):
            self._ended = True
            raise item.error
        if item is _END:
            self._ended = True
            return None
        return item

    def get(self, begin: int, end: int) -> tuple[list[np.ndarray], list[float | None]]:
        """Frames [begin, end) and their presentation times."""
        while self._first + len(self._frames) < end:
            item = self._next()
            if item is None:
                raise InvalidVideoError(
                    f"the video ended after {self._first + len(self._frames)} frames, "
                    f"though its header announced at least {end}: truncated file?"
                )
            self._frames.append(item)
        selected = list(self._frames)[begin - self._first : end - self._first]
        return [f for f, _ in selected], [t for _, t in selected]

    def __iter__(self) -> Iterator[np.ndarray]:
        """Every frame in order, read ahead in the thread (for one sequential pass such as
        scoring; do not mix with `get`)."""
        while (item := self._next()) is not None:
            yield item[0]

    def release(self, before: int) -> None:
        """Forget frames before `before`: no later window needs them."""
        while self._first < before and self._frames:
            self._frames.popleft()
            self._first += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()


class FrameWriter:
    """Calls `write(image, time_s)` for each frame in a thread, in order; `put` blocks when
    `depth` frames are waiting (the network is ahead of the encoder)."""

    def __init__(self, write: Callable[[np.ndarray, float | None], None], *, depth: int = 8):
        self._write = write
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="frame-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if self._error is not None or self._stop.is_set():
                continue  # drain: the caller learns of the error at its next put
            try:
                self._write(*item)
                self.written += 1
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._stop.set()
            raise error

    def put(self, image: np.ndarray, time_s: float | None) -> None:
        self._raise()
        while True:
            try:
                self._queue.put((image, time_s), timeout=_POLL_S)
                return
            except queue.Full:
                self._raise()

    def finish(self) -> None:
        """Wait until every frame is written; raises the writer's error if there was one."""
        self._queue.put(_END)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop without writing what is still queued."""
        self._stop.set()
        self._queue.put(_END)
        self._thread.join()
