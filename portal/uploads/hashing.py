"""SHA-256 of a partial upload, carried across tus PATCH requests without re-reading the bytes.

``hashlib`` objects cannot be pickled, so the running hash cannot go into the database. Each
process keeps the hash object of the uploads it appended to, with the offset it covers; a PATCH
that arrives in another process (or after a restart) brings the hash up to date by reading only
the stored bytes it has not seen (from 0 after a restart), in ``CHUNK_SIZE`` pieces. Bytes
before the committed offset never change, so a cached state is always a correct prefix.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from portal.storage import CHUNK_SIZE

#: Hash states kept per process (a few hundred bytes each); the least recently used goes first.
MAX_STATES = 512

_states: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_lock = threading.Lock()


def hasher_at(key: str, path: Path, offset: int) -> Any:
    """A SHA-256 object fed with the first ``offset`` bytes of ``path`` (a private copy)."""
    with _lock:
        cached = _states.get(key)
    if cached is not None and cached[0] <= offset:
        done, hasher = cached[0], cached[1].copy()
    else:
        done, hasher = 0, hashlib.sha256()
    if done < offset:
        with open(path, "rb") as handle:
            handle.seek(done)
            remaining = offset - done
            while remaining > 0:
                chunk = handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise OSError(f"{path}: {remaining} stored bytes are missing")
                hasher.update(chunk)
                remaining -= len(chunk)
    return hasher


def remember(key: str, offset: int, hasher: Any) -> None:
    with _lock:
        _states[key] = (offset, hasher.copy())
        _states.move_to_end(key)
        while len(_states) > MAX_STATES:
            _states.popitem(last=False)


def forget(key: str) -> None:
    with _lock:
        _states.pop(key, None)
