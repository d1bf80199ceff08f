"""Engine errors: one base class, narrow subclasses, each with a message a user can act on.

`permanent` tells a job worker whether retrying the same job can help (a corrupt file or a
bad option will fail again; a full disk or a busy GPU might not).
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent

    def __str__(self) -> str:
        return self.message


class InvalidVideoError(EngineError):
    """The input is not a readable video: missing, not a media file, truncated or empty."""


class WeightsError(EngineError):
    """A checkpoint is missing or corrupt, belongs to another variant, or fails its sha256."""


class ConfigError(EngineError):
    """An option or configuration value is invalid."""


class CancelledError(EngineError):
    """The caller's cancel hook asked the engine to stop; retrying would be cancelled again."""

    permanent = True
