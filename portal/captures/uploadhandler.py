"""Upload handler that streams files to disk and hashes them while they arrive.

Installed for every upload (settings.FILE_UPLOAD_HANDLERS): a file is never held in memory, its
SHA-256 is known the moment the upload completes (no second pass over a 100 GB capture), and an
upload over CAPTURE_MAX_UPLOAD_SIZE is stopped as soon as it crosses the limit.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# The request attribute a view checks to tell "too large" apart from "no file sent".
TOO_LARGE_ATTR = "upload_too_large"


class HashedTemporaryUploadedFile(TemporaryUploadedFile):
    """A TemporaryUploadedFile that also carries the SHA-256 hex digest of its content."""

    sha256: str = ""


class HashingFileUploadHandler(FileUploadHandler):
    """Write chunks to a temporary file and feed them to SHA-256 as they arrive."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.max_size: int = settings.CAPTURE_MAX_UPLOAD_SIZE
        # No `self.file` until new_file(): Django's parser closes `handler.file` when present.
        self.hasher = hashlib.sha256()
        self.received = 0
        self.announced_too_large = False

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        # The whole body is announced as too large: refuse at the first file, without reading
        # it (StopUpload raised here would escape Django's parser as a server error).
        self.announced_too_large = bool(content_length and content_length > self.max_size + 65536)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.announced_too_large:
            self._stop_too_large(connection_reset=True)
        temp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
        if temp_dir:
            os.makedirs(temp_dir, exist_ok=True)
        self.hasher = hashlib.sha256()
        self.received = 0
        self.file = HashedTemporaryUploadedFile(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.max_size:
            self.file.close()  # deletes the temporary file
            self._stop_too_large()
        self.hasher.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> HashedTemporaryUploadedFile | None:
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()

    def _stop_too_large(self, *, connection_reset: bool = False) -> None:
        if self.request is not None:
            setattr(self.request, TOO_LARGE_ATTR, True)
        # Without a reset Django drains the rest of the body, so the client reads our answer.
        raise StopUpload(connection_reset=connection_reset)
