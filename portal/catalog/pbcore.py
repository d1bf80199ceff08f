"""PBCore 2.1 XML (https://pbcore.org/xsd/pbcore-2.1.xsd) export and import of tapes.

A tape is one ``pbcoreDescriptionDocument``: its descriptive fields, then its instantiations:
the tape itself as the **physical** instantiation, each capture and the published restored
version (master and access copy) as **digital** instantiations with essence tracks and a
SHA-256 (``instantiationIdentifier source="SHA-256"``). A collection is a ``pbcoreCollection``
of its tapes' documents. Import reads documents back into tape rows of the CSV import
(``tapes_import_rows``), so the same checks apply and all rows or none are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree as ET

from django.core.exceptions import ValidationError

from portal.catalog.dates import to_edtf
from portal.catalog.models import CarrierFormat, Condition, Tape, VideoStandard

NS = "http://www.pbcore.org/PBCore/PBCoreNamespace.html"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} https://pbcore.org/xsd/pbcore-2.1.xsd"
ET.register_namespace("", NS)
ET.register_namespace("xsi", XSI)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _add(parent: ET.Element, name: str, text: Any = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(name), {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = str(text)
    return element


def _duration(value: dt.timedelta | float | None) -> str | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _label(choices: Any, value: str) -> str:
    return str(dict(choices.choices).get(value, value))


def tape_document(tape: Tape, *, published: Any = None) -> ET.Element:
    """``pbcoreDescriptionDocument`` of a tape (``published``: its published RestoredVersion)."""
    doc = ET.Element(_q("pbcoreDescriptionDocument"))
    _add(doc, "pbcoreAssetType", "Moving Image")
    edtf = to_edtf(tape.recording_date) if tape.recording_date else ""
    if edtf:
        _add(doc, "pbcoreAssetDate", edtf, dateType="created")
    institution = tape.institution.slug
    _add(doc, "pbcoreIdentifier", tape.identifier, source=institution)
    _add(doc, "pbcoreTitle", tape.title or tape.identifier)
    for subject in tape.subject_list:
        _add(doc, "pbcoreSubject", subject)
    _add(doc, "pbcoreDescription", tape.description or "")
    if tape.collection_id:
        relation = _add(doc, "pbcoreRelation")
        _add(relation, "pbcoreRelationType", "Is Part Of")
        _add(relation, "pbcoreRelationIdentifier", tape.collection.name, source=institution)
    if tape.rights_statement:
        rights = _add(doc, "pbcoreRightsSummary")
        _add(rights, "rightsSummary", tape.rights_statement)
    _physical(doc, tape, institution)
    for capture in tape.captures.all().order_by("created_at"):
        _digital_capture(doc, capture)
    if published is not None:
        _digital_version(doc, published, rendition="master")
        _digital_version(doc, published, rendition="access")
    for item in tape.metadata.all():
        _add(doc, "pbcoreAnnotation", item.value, annotationType=item.key)
    return doc


def _physical(doc: ET.Element, tape: Tape, institution: str) -> None:
    inst = _add(doc, "pbcoreInstantiation")
    _add(inst, "instantiationIdentifier", tape.identifier, source=institution)
    _add(inst, "instantiationPhysical", _label(CarrierFormat, tape.carrier_format))
    _add(inst, "instantiationLocation", tape.shelf_location or institution)
    _add(inst, "instantiationMediaType", "Moving Image")
    _add(inst, "instantiationGenerations", "Original")
    if tape.duration:
        _add(inst, "instantiationDuration", _duration(tape.duration))
    if tape.video_standard:
        _add(inst, "instantiationStandard", _label(VideoStandard, tape.video_standard))
    if tape.language:
        _add(inst, "instantiationLanguage", tape.language)
    _add(inst, "instantiationAnnotation", tape.condition, annotationType="condition")
    if tape.condition_notes:
        _add(
            inst, "instantiationAnnotation", tape.condition_notes, annotationType="condition notes"
        )


def _essence_video(inst: ET.Element, *, codec: str, rate: Any, width: Any, height: Any) -> None:
    track = _add(inst, "instantiationEssenceTrack")
    _add(track, "essenceTrackType", "Video")
    if codec:
        _add(track, "essenceTrackEncoding", codec)
    if rate:
        _add(track, "essenceTrackFrameRate", rate)
    if width and height:
        _add(track, "essenceTrackFrameSize", f"{width}x{height}")


def _digital_capture(doc: ET.Element, capture: Any) -> None:
    inst = _add(doc, "pbcoreInstantiation")
    _add(inst, "instantiationIdentifier", capture.uuid, source="portal capture uuid")
    _add(inst, "instantiationIdentifier", capture.sha256, source="SHA-256")
    _add(inst, "instantiationDigital", f"video/{capture.container or 'octet-stream'}")
    _add(inst, "instantiationLocation", capture.original_filename)
    _add(inst, "instantiationMediaType", "Moving Image")
    _add(inst, "instantiationGenerations", "Preservation capture")
    _add(inst, "instantiationFileSize", capture.size_bytes, unitsOfMeasure="bytes")
    if capture.duration_s:
        _add(inst, "instantiationDuration", _duration(capture.duration_s))
    if capture.bit_rate:
        _add(inst, "instantiationDataRate", capture.bit_rate, unitsOfMeasure="bit/s")
    _add(inst, "instantiationTracks", 1 + len(capture.audio_streams or []))
    _essence_video(
        inst,
        codec=capture.video_codec,
        rate=capture.frame_rate,
        width=capture.width,
        height=capture.height,
    )
    for stream in capture.audio_streams or []:
        track = _add(inst, "instantiationEssenceTrack")
        _add(track, "essenceTrackType", "Audio")
        _add(track, "essenceTrackEncoding", stream.get("codec"))
        if stream.get("sample_rate"):
            _add(track, "essenceTrackSamplingRate", stream["sample_rate"], unitsOfMeasure="Hz")


def _digital_version(doc: ET.Element, version: Any, *, rendition: str) -> None:
    master = rendition == "master"
    inst = _add(doc, "pbcoreInstantiation")
    _add(inst, "instantiationIdentifier", f"version-{version.pk}-{rendition}", source="portal")
    sha = version.master_sha256 if master else version.access_sha256
    _add(inst, "instantiationIdentifier", sha, source="SHA-256")
    _add(inst, "instantiationDigital", "video/x-matroska" if master else "video/mp4")
    _add(inst, "instantiationLocation", f"version-{version.pk}.{rendition}")
    _add(inst, "instantiationMediaType", "Moving Image")
    _add(inst, "instantiationGenerations", "Restored master" if master else "Access copy")
    size = version.master_size if master else version.access_size
    if size:
        _add(inst, "instantiationFileSize", size, unitsOfMeasure="bytes")
    _essence_video(
        inst, codec="FFV1" if master else "H.264", rate=version.frame_rate, width=None, height=None
    )
    _add(
        inst,
        "instantiationAnnotation",
        f"{version.model_variant} (engine {version.engine_version})",
        annotationType="restoration",
    )


def _root_attrs(element: ET.Element) -> ET.Element:
    element.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    return element


def tape_xml(tape: Tape, *, published: Any = None) -> bytes:
    return ET.tostring(
        _root_attrs(tape_document(tape, published=published)),
        xml_declaration=True,
        encoding="utf-8",
    )


def collection_xml(name: str, description: str, tapes: Iterable[tuple[Tape, Any]]) -> bytes:
    root = _root_attrs(ET.Element(_q("pbcoreCollection"), {"collectionTitle": name}))
    if description:
        root.set("collectionDescription", description)
    for tape, published in tapes:
        root.append(tape_document(tape, published=published))
    return ET.tostring(root, xml_declaration=True, encoding="utf-8")


# --- import -----------------------------------------------------------------------------------


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _choice_value(choices: Any, label: str) -> str:
    for value, text in choices.choices:
        if label.lower() in (str(value).lower(), str(text).lower()):
            return str(value)
    return label  # the import's check names the allowed values


def _document_row(doc: ET.Element) -> dict[str, str]:
    physical = next(
        (
            inst
            for inst in doc.findall(_q("pbcoreInstantiation"))
            if inst.find(_q("instantiationPhysical")) is not None
        ),
        None,
    )
    identifier = _text(physical.find(_q("instantiationIdentifier"))) if physical is not None else ""
    row = {
        "identifier": identifier or _text(doc.find(_q("pbcoreIdentifier"))),
        "title": _text(doc.find(_q("pbcoreTitle"))),
        "description": _text(doc.find(_q("pbcoreDescription"))),
        "subjects": "; ".join(_text(s) for s in doc.findall(_q("pbcoreSubject"))),
        "recording_date": _text(doc.find(_q("pbcoreAssetDate"))),
        "rights_statement": _text(doc.find(f"{_q('pbcoreRightsSummary')}/{_q('rightsSummary')}")),
        "collection": _text(doc.find(f"{_q('pbcoreRelation')}/{_q('pbcoreRelationIdentifier')}")),
    }
    if physical is not None:
        row["carrier_format"] = _choice_value(
            CarrierFormat, _text(physical.find(_q("instantiationPhysical")))
        )
        standard = _text(physical.find(_q("instantiationStandard")))
        row["video_standard"] = _choice_value(VideoStandard, standard) if standard else ""
        row["duration"] = _text(physical.find(_q("instantiationDuration")))
        row["language"] = _text(physical.find(_q("instantiationLanguage")))
        row["shelf_location"] = _text(physical.find(_q("instantiationLocation")))
        for note in physical.findall(_q("instantiationAnnotation")):
            kind = note.get("annotationType", "")
            if kind == "condition":
                row["condition"] = _choice_value(Condition, _text(note))
            elif kind == "condition notes":
                row["condition_notes"] = _text(note)
    for note in doc.findall(_q("pbcoreAnnotation")):
        if note.get("annotationType"):
            row[f"meta:{note.get('annotationType')}"] = _text(note)
    return row


def rows_from_pbcore(body: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, rows) for ``tapes_import_rows`` from a document or a collection."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValidationError(f"Not well-formed XML: {exc}.") from exc
    if root.tag == _q("pbcoreDescriptionDocument"):
        documents = [root]
    elif root.tag == _q("pbcoreCollection"):
        documents = root.findall(_q("pbcoreDescriptionDocument"))
    else:
        raise ValidationError(
            f"Expected a PBCore 2.1 pbcoreDescriptionDocument or pbcoreCollection (namespace {NS})."
        )
    if not documents:
        raise ValidationError("The collection has no pbcoreDescriptionDocument.")
    rows = [(position, _document_row(doc)) for position, doc in enumerate(documents, start=1)]
    header = sorted({name for _, row in rows for name in row})
    for _, row in rows:
        for name in header:
            row.setdefault(name, None)  # type: ignore[arg-type]
    return header, rows
