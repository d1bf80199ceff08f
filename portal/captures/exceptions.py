"""Errors of the captures app: each carries a message the uploader can act on."""

from __future__ import annotations

from portal.exceptions import ApplicationError


class CaptureError(ApplicationError):
    """Base of the errors the captures services raise on purpose.

    ``code`` is the stable machine-readable name the API returns; ``status`` the HTTP status a
    view answers with.
    """

    code = "capture_error"
    status = 400

    def __str__(self) -> str:
        return self.message


class CaptureRejected(CaptureError):
    """The uploaded file is not a usable video (empty, not a video, truncated, undecodable)."""

    code = "invalid_video"


class UploadTooLarge(CaptureError):
    """The upload is larger than CAPTURE_MAX_UPLOAD_SIZE."""

    code = "upload_too_large"
    status = 413


class ProxyError(CaptureError):
    """The browser proxy could not be made; ``permanent`` says whether a retry can help."""

    code = "proxy_failed"
