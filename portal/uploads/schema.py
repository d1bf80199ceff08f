"""The tus endpoints in the OpenAPI schema (a drf-spectacular postprocessing hook).

The tus views are plain Django views (tus is a header protocol with a raw byte body, which DRF
parsers and serializers do not model), so drf-spectacular cannot see them; this hook adds them
by hand with every status they answer. The contract test (``tests/portal/api/test_contract.py``)
checks these answers against the live server like every other operation's.
"""

from __future__ import annotations

from typing import Any

from portal.api.scoping import INSTITUTION_HEADER
from portal.uploads.models import UploadStatus
from portal.uploads.services import CHECKSUM_ALGORITHMS
from portal.uploads.views import TUS_EXTENSIONS, TUS_VERSION

COLLECTION = "/api/v1/uploads/"
DETAIL = "/api/v1/uploads/{id}"
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
SECURITY = [{"tokenAuth": []}, {"cookieAuth": []}]
STRING = {"type": "string"}
DIGITS = {"type": "string", "pattern": "^[0-9]+$"}

ERRORS = {
    "400": "Bad headers or metadata (the message says which), a body past `Upload-Length`, "
    "an unsupported `Upload-Checksum` algorithm, or a checksummed body that ended short.",
    "401": "Not authenticated (no, unknown, revoked or expired token).",
    "403": "Not allowed: your role, a read-only token, a session without the CSRF token, or "
    "a PATCH to an upload that has all its bytes.",
    "404": "No such upload or tape in your institution (or an unknown `X-Institution`).",
    "409": "`Upload-Offset` is not where the stored bytes end: ask with HEAD, resume there.",
    "410": "The upload expired or was cancelled; its bytes are gone.",
    "411": "A PATCH without `Content-Length`.",
    "412": f"`Tus-Resumable` is missing or not `{TUS_VERSION}` (the answer names the version).",
    "413": "`Upload-Length` is over your institution's upload limit.",
    "415": "A PATCH whose `Content-Type` is not `application/offset+octet-stream`.",
    "423": "Another request is sending bytes to this upload right now.",
    "460": "Checksum mismatch: this PATCH's body does not have its `Upload-Checksum` digest "
    "(nothing of it is kept), or the whole file does not have the `sha256` announced at "
    "creation (the upload is refused).",
}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"description": ERRORS[status], "content": ERROR} for status in statuses}


def _header(name: str, description: str, *, required: bool = False, schema: Any = None) -> Any:
    parameter = {"in": "header", "name": name, "schema": schema or STRING}
    parameter["description"] = description
    if required:
        parameter["required"] = True
    return parameter


def _response_headers(**headers: tuple[str, bool]) -> dict[str, Any]:
    return {
        name.replace("_", "-"): {"schema": STRING, "description": text, "required": required}
        for name, (text, required) in headers.items()
    }


TUS_RESUMABLE = _header(
    "Tus-Resumable",
    f"The tus protocol version: `{TUS_VERSION}`.",
    required=True,
    schema={"type": "string", "enum": [TUS_VERSION]},
)
INSTITUTION = _header(
    INSTITUTION_HEADER,
    "Slug of the institution to act for (only needed when you belong to several).",
)
UPLOAD_ID = {
    "in": "path",
    "name": "id",
    "required": True,
    "schema": {
        "type": "string",
        "format": "uuid",
        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    },
    "description": "The upload's id: the last part of the `Location` the creation answered.",
}
EXPIRES = ("When the upload is deleted if no byte arrives before (HTTP date).", True)
DISCOVERY = {
    "operationId": "uploads_discover",
    "summary": "tus discovery: version, extensions, checksum algorithms",
    "tags": ["uploads"],
    "security": [{}],
    "responses": {
        "204": {
            "description": "The server's tus capabilities (no body).",
            "headers": _response_headers(
                Tus_Version=(TUS_VERSION, True),
                Tus_Extension=(TUS_EXTENSIONS, True),
                Tus_Checksum_Algorithm=(",".join(CHECKSUM_ALGORITHMS), True),
            ),
        }
    },
}

UPLOAD_STATUS = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "status": {"type": "string", "enum": list(UploadStatus.values)},
        "status_label": STRING,
        "filename": STRING,
        "offset": {"type": "integer", "description": "Bytes stored so far."},
        "length": {"type": "integer", "description": "The announced `Upload-Length`."},
        "sha256": {"type": "string", "nullable": True, "description": "Once all bytes are in."},
        "error": {"type": "string", "nullable": True, "description": "Why it was refused."},
        "capture": {"type": "integer", "nullable": True},
        "capture_url": {"type": "string", "nullable": True},
        "expires_at": {"type": "string", "format": "date-time"},
        "max_size": {"type": "integer", "description": "Your institution's upload limit."},
    },
    "required": [
        "id",
        "status",
        "status_label",
        "filename",
        "offset",
        "length",
        "sha256",
        "error",
        "capture",
        "capture_url",
        "expires_at",
        "max_size",
    ],
}


def _collection() -> dict[str, Any]:
    create = {
        "operationId": "uploads_create",
        "summary": "Start a resumable upload of a capture (tus creation)",
        "description": "Then send the bytes with PATCH to the `Location` answered; HEAD tells "
        "where to resume after an interruption. `Upload-Metadata` is comma-separated "
        "`key base64(value)` pairs: `tape` (the tape's id, required), `filename`, and "
        "optionally `sha256` (hex), checked when the last byte arrives.",
        "tags": ["uploads"],
        "security": SECURITY,
        "parameters": [
            TUS_RESUMABLE,
            _header("Upload-Length", "Size of the file in bytes.", required=True, schema=DIGITS),
            _header("Upload-Metadata", "e.g. `tape MTI=,filename Y29uY2VydC5ta3Y=`."),
            INSTITUTION,
        ],
        "responses": {
            "201": {
                "description": "Created; send the bytes to `Location`.",
                "headers": _response_headers(
                    Location=("The upload's URL.", True), Upload_Expires=EXPIRES
                ),
            },
            **_errors("400", "401", "403", "404", "412", "413"),
        },
    }
    return {"post": create, "options": DISCOVERY}


def _detail() -> dict[str, Any]:
    common = [UPLOAD_ID, TUS_RESUMABLE, INSTITUTION]
    status = {
        "operationId": "uploads_status",
        "summary": "JSON status of an upload (not part of tus): the capture made from it",
        "tags": ["uploads"],
        "security": SECURITY,
        "parameters": [UPLOAD_ID, INSTITUTION],
        "responses": {
            "200": {
                "description": "The upload's status.",
                "content": {"application/json": {"schema": UPLOAD_STATUS}},
            },
            **_errors("401", "403", "404"),
        },
    }
    offset = {
        "operationId": "uploads_offset",
        "summary": "Where to resume: the bytes stored so far (tus HEAD)",
        "tags": ["uploads"],
        "security": SECURITY,
        "parameters": common,
        "responses": {
            "200": {
                "description": "No body; the offset is in `Upload-Offset`.",
                "headers": _response_headers(
                    Upload_Offset=("Bytes stored so far.", True),
                    Upload_Length=("The announced size.", True),
                    Upload_Expires=EXPIRES,
                ),
            },
            **_errors("401", "403", "404", "410", "412"),
        },
    }
    append = {
        "operationId": "uploads_append",
        "summary": "Append bytes at `Upload-Offset` (tus PATCH)",
        "description": "Bytes that arrive are kept even when the connection drops; resume from "
        "the offset HEAD answers. With `Upload-Checksum` the body is kept only whole and with "
        "that digest.",
        "tags": ["uploads"],
        "security": SECURITY,
        "parameters": [
            *common,
            _header("Upload-Offset", "Where this body starts.", required=True, schema=DIGITS),
            _header(
                "Upload-Checksum",
                "tus checksum extension: `<algorithm> <base64 digest of this body>`, the "
                f"algorithm one of {', '.join(CHECKSUM_ALGORITHMS)}.",
            ),
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        },
        "responses": {
            "204": {
                "description": "Stored; the new offset is in `Upload-Offset`.",
                "headers": _response_headers(
                    Upload_Offset=("Bytes stored so far.", True), Upload_Expires=EXPIRES
                ),
            },
            **_errors("400", "401", "403", "404", "409", "410", "411", "412", "415", "423"),
            **_errors("460"),
        },
    }
    terminate = {
        "operationId": "uploads_destroy",
        "summary": "Cancel an upload and delete its bytes (tus termination)",
        "tags": ["uploads"],
        "security": SECURITY,
        "parameters": common,
        "responses": {
            "204": {"description": "Cancelled."},
            **_errors("401", "403", "404", "412", "423"),
        },
    }
    return {
        "get": status,
        "head": offset,
        "patch": append,
        "delete": terminate,
        "options": {
            **DISCOVERY,
            "operationId": "uploads_discover_detail",
            "parameters": [UPLOAD_ID],
        },
    }


def add_tus_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: the tus endpoints beside the DRF ones."""
    result.setdefault("paths", {})
    result["paths"][COLLECTION] = _collection()
    result["paths"][DETAIL] = _detail()
    result["paths"] = dict(sorted(result["paths"].items()))
    return result
