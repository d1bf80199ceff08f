"""Cached fragments of an institution's pages, invalidated by a per-institution generation.

The hot pages (catalog list, API tapes list) render the same rows for every member of an
institution until something in it changes. Their fragments are cached under a key that holds
the institution's *generation*, a random token replaced whenever the institution's data
changes: every audited change (``portal.audit.services.audit_record``) and every save or delete
of the catalog's rows (signals of ``portal.catalog``), so old fragments are simply never asked
for again and expire on their own. Nothing is shared between institutions: the institution id
is part of every key.

Correctness under concurrency: a page reads the generation *before* its data, and a change
replaces the generation *after* its transaction commits: once per institution and transaction,
however many rows it changed (a CSV import of 10,000 tapes writes the cache once). A page that
read its data before the commit can only store it under the generation the commit has since
replaced. Until then, the transaction's own thread sees its uncommitted changes: for it the
institution has no cached fragments (a fresh generation on every read).

A generation lost from the cache (eviction, restart) comes back as a new random token, never an
old one. ``FRAGMENT_TIMEOUT`` bounds what a change made behind the app's back (raw SQL) leaves
visible.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction

#: Seconds a cached fragment lives at most.
FRAGMENT_TIMEOUT = 600
_CHANGED_ATTR = "_portal_cache_changed_institutions"


def _generation_key(institution_id: int) -> str:
    return f"institution-generation:{institution_id}"


def _changed_in_transaction() -> set[int]:
    """Institutions changed by this thread's open transaction: empty once it committed (its
    callback ran) or rolled back (Django dropped its callback)."""
    state = getattr(connection, _CHANGED_ATTR, None)
    if (
        state is not None
        and connection.in_atomic_block
        and any(entry[1] is state[0] for entry in connection.run_on_commit)
    ):
        return state[1]
    return set()


def institution_generation(institution_id: int) -> str:
    """The current generation of ``institution_id``'s data (a short random token)."""
    if connection.in_atomic_block and institution_id in _changed_in_transaction():
        return uuid.uuid4().hex[:16]  # our own uncommitted changes: nothing cached applies
    key = _generation_key(institution_id)
    value = cache.get(key)
    if value is None:
        cache.add(key, uuid.uuid4().hex[:16], timeout=None)
        value = cache.get(key)
    return str(value)


def _replace_generation(institution_id: int) -> None:
    cache.set(_generation_key(institution_id), uuid.uuid4().hex[:16], timeout=None)


def institution_changed(institution_id: int | None) -> None:
    """Invalidate ``institution_id``'s cached fragments once the current transaction commits
    (at once outside a transaction)."""
    if institution_id is None:
        return
    if not connection.in_atomic_block:
        _replace_generation(institution_id)  # autocommit: the change is already committed
        return
    changed = _changed_in_transaction()
    if not changed:  # the transaction's first change: one callback replaces them all
        changed = set()

        def replace_all() -> None:
            for changed_id in changed:
                _replace_generation(changed_id)

        transaction.on_commit(replace_all)
        setattr(connection, _CHANGED_ATTR, (replace_all, changed))
    changed.add(institution_id)


def fragment_key(institution_id: int, name: str, *vary: Any) -> str:
    """Cache key of fragment ``name`` of ``institution_id``, varying on ``vary`` (query...)."""
    digest = hashlib.sha256(repr(vary).encode()).hexdigest()[:32]
    generation = institution_generation(institution_id)
    return f"fragment:{name}:{institution_id}:{generation}:{digest}"
