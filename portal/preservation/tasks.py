"""django-q2 task adapters of the preservation app: take ids, call a service."""

from __future__ import annotations


def check_fixity() -> dict[str, int]:
    """The fixity schedule: re-check the oldest-checked files within the run's byte budget."""
    from portal.preservation.fixity import fixity_run

    run = fixity_run()
    return {"checked": run.checked, "failed": run.failed, "bytes_read": run.bytes_read}


def build_package(package_id: int) -> bool:
    """Build the BagIt package of a tape (queued when a manager asks for it)."""
    from portal.preservation.bags import package_build

    return package_build(package_id=package_id)
