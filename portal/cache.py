"""Cached fragments of an institution's pages, invalidated by a per-institution generation.

The hot pages (catalog list, API tapes list) render the same rows for every member of an
institution until something in it changes. Their fragments are cached under a key that holds
the institution's *generation*, a random token replaced whenever the institution's data
changes: every audited change (``portal.audit.services.audit_record``) and every save or delete
of the catalog's rows (signals of ``portal.catalog``), so old fragments are simply never asked
for again and expire on their own. Nothing is shared between institutions: the institution id
is part of every key.

Correctness under concurrency: a page reads the generation *before* its data, and a change
replaces the generation *after* its transaction commits (and once more at once, so the same
request or test sees its own change). A page that read its data before the commit can only
store it under the generation the commit has since replaced.

A generation lost from the cache (eviction, restart) comes back as a new random token, never an
old one. ``FRAGMENT_TIMEOUT`` bounds what a change made behind the app's back (raw SQL) leaves
visible.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction

#: Seconds a cached fragment lives at most.
FRAGMENT_TIMEOUT = 600


def _generation_key(institution_id: int) -> str:
    return f"institution-generation:{institution_id}"


def institution_generation(institution_id: int) -> str:
    """The current generation of ``institution_id``'s data (a short random token)."""
    key = _generation_key(institution_id)
    value = cache.get(key)
    if value is None:
        cache.add(key, uuid.uuid4().hex[:16], timeout=None)
        value = cache.get(key)
    return str(value)


def _replace_generation(institution_id: int) -> None:
    cache.set(_generation_key(institution_id), uuid.uuid4().hex[:16], timeout=None)


def institution_changed(institution_id: int | None) -> None:
    """Invalidate ``institution_id``'s cached fragments: now and after the current commit."""
    if institution_id is None:
        return
    _replace_generation(institution_id)
    transaction.on_commit(lambda: _replace_generation(institution_id))


def fragment_key(institution_id: int, name: str, *vary: Any) -> str:
    """Cache key of fragment ``name`` of ``institution_id``, varying on ``vary`` (query...)."""
    digest = hashlib.sha256(repr(vary).encode()).hexdigest()[:32]
    generation = institution_generation(institution_id)
    return f"fragment:{name}:{institution_id}:{generation}:{digest}"
