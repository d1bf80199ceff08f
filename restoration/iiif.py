"""IIIF Presentation API 3.0 manifests (https://iiif.io/api/presentation/3.0/) of restored
versions, so IIIF AV players (Universal Viewer, Mirador, Aviary...) open them: one Canvas with
duration, width and height, the access copy (H.264 MP4) as its painting annotation, and the
tape's catalog fields as metadata.

Public manifests (``/iiif/tapes/<id>/manifest.json``) exist for tapes shown to the public; the
API gives members the manifest of any version of their institution.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from portal.catalog.dates import to_edtf

CONTEXT = "http://iiif.io/api/presentation/3/context.json"


def _lang(value: str) -> dict[str, list[str]]:
    return {"none": [value]}


def _pair(label: str, value: str) -> dict[str, Any]:
    return {"label": {"en": [label]}, "value": _lang(value)}


def version_duration(version: Any) -> float:
    rate = Fraction(version.frame_rate or "25")
    return round(float(version.frame_count / rate), 3) if rate else 0.0


def version_manifest(*, version: Any, manifest_url: str, video_url: str) -> dict[str, Any]:
    """The manifest of ``version`` (a RestoredVersion with tape and capture loaded)."""
    tape, capture = version.tape, version.capture
    duration = version_duration(version)
    width, height = int(capture.width or 0), int(capture.height or 0)
    canvas = f"{manifest_url.removesuffix('/manifest.json')}/canvas/1"
    metadata = [
        _pair("Identifier", tape.identifier),
        _pair("Format", tape.get_carrier_format_display()),
    ]
    if tape.recording_date:
        metadata.append(_pair("Recorded", to_edtf(tape.recording_date)))
    if tape.video_standard:
        metadata.append(_pair("Standard", tape.get_video_standard_display()))
    if tape.collection_id:
        metadata.append(_pair("Collection", tape.collection.name))
    metadata.append(
        _pair(
            "Restoration",
            f"{version.model_variant} (engine {version.engine_version}), version {version.pk}",
        )
    )
    metadata.append(_pair("Access copy SHA-256", version.access_sha256))
    manifest: dict[str, Any] = {
        "@context": CONTEXT,
        "id": manifest_url,
        "type": "Manifest",
        "label": _lang(tape.title or tape.identifier),
        "metadata": metadata,
        "provider": [
            {
                "id": f"{manifest_url.split('/iiif/')[0]}/#institution-{tape.institution.slug}",
                "type": "Agent",
                "label": _lang(tape.institution.name),
            }
        ],
        "items": [
            {
                "id": canvas,
                "type": "Canvas",
                "duration": duration,
                "width": width,
                "height": height,
                "items": [
                    {
                        "id": f"{canvas}/page/1",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": f"{canvas}/page/1/annotation/1",
                                "type": "Annotation",
                                "motivation": "painting",
                                "target": canvas,
                                "body": {
                                    "id": video_url,
                                    "type": "Video",
                                    "format": "video/mp4",
                                    "duration": duration,
                                    "width": width,
                                    "height": height,
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    if tape.description:
        manifest["summary"] = _lang(tape.description)
    if tape.rights_statement:
        manifest["requiredStatement"] = _pair("Rights", tape.rights_statement)
    return manifest
