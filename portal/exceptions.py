"""Base of the project's errors: a message a user can act on, and whether retrying can help."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of narrow per-app errors. ``str(error)`` is shown to the user as is."""

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent
        self.extra = extra or {}
