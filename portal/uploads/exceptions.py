"""Errors of resumable uploads; each maps to the HTTP status the tus protocol prescribes."""

from __future__ import annotations

from portal.exceptions import ApplicationError


class UploadError(ApplicationError):
    code = "upload_error"
    status = 400

    def __str__(self) -> str:
        return self.message


class UploadGone(UploadError):
    """The upload expired or was terminated: its bytes are gone (tus: 410)."""

    code = "upload_gone"
    status = 410


class OffsetMismatch(UploadError):
    """The client's Upload-Offset is not where the stored bytes end (tus: 409)."""

    code = "offset_mismatch"
    status = 409


class UploadBusy(UploadError):
    """Another request is appending to this upload right now (423, as tusd answers)."""

    code = "upload_locked"
    status = 423


class UploadTooLargeForInstitution(UploadError):
    code = "upload_too_large"
    status = 413


class ChecksumMismatch(UploadError):
    """The bytes received do not have the SHA-256 the client announced (tus checksum: 460)."""

    code = "checksum_mismatch"
    status = 460


class UploadFinished(UploadError):
    """The upload has all its bytes; a PATCH may not modify it (403, as tusd answers)."""

    code = "upload_finished"
    status = 403
