"""django-q2 task adapters: take ids, call a service."""

from __future__ import annotations

from portal.captures.services import capture_proxy_build


def build_capture_proxy(capture_id: int) -> bool:
    """Make the browser proxy of capture ``capture_id`` (queued by capture_create)."""
    return capture_proxy_build(capture_id=capture_id)
