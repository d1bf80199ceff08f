"""PREMIS 3 XML event log of a tape's preservation package.

PREMIS: one ``object`` per file in the bag (originals, masters), one ``event`` per ingest,
restoration (model, weights SHA-256, every parameter), fixity check, review decision and
publication, and the ``agent``s (people, software, hosts). The restoration, review, publication
and fixity events are those of ``restoration.provenance.version_provenance`` (one source of
truth); ingest and the fixity checks of captures come from the audit history.

The package's descriptive record is the portal's PBCore 2.1 export (``portal.catalog.pbcore``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from portal.audit.models import AuditEvent
from portal.captures.models import Capture

PREMIS_NS = "http://www.loc.gov/premis/v3"
ET.register_namespace("premis", PREMIS_NS)
ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")


def _p(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{PREMIS_NS}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def _identifier(parent: ET.Element, kind: str, ident: dict[str, str]) -> None:
    holder = _p(parent, f"{kind}Identifier")
    _p(holder, f"{kind}IdentifierType", ident["type"])
    _p(holder, f"{kind}IdentifierValue", ident["value"])


def _capture_id(capture: Capture) -> dict[str, str]:
    return {"type": "local", "value": f"capture:{capture.uuid}"}


def tape_premis_events(*, tape: Any, versions: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """PREMIS objects, events and agents of a tape (JSON form, as version_provenance)."""
    from restoration.provenance import version_provenance

    objects: dict[str, dict[str, Any]] = {}
    events: dict[str, dict[str, Any]] = {}
    agents: dict[str, dict[str, Any]] = {}
    for capture in Capture.objects.filter(tape=tape).order_by("created_at", "id"):
        capture_id = _capture_id(capture)
        objects[capture_id["value"]] = {
            "objectIdentifier": capture_id,
            "originalName": capture.original_filename,
            "objectCharacteristics": {
                "fixity": {"messageDigestAlgorithm": "SHA-256", "messageDigest": capture.sha256},
                "size": capture.size_bytes,
                "format": {"formatName": f"{capture.container}/{capture.video_codec}"},
            },
        }
    for row in AuditEvent.objects.filter(
        tape_id=tape.pk,
        target_type="captures.capture",
        action__in=["capture.created", "fixity.passed", "fixity.failed"],
    ).order_by("created_at", "id"):
        found = Capture.objects.filter(pk=row.target_id).first()
        if found is None:
            continue
        capture = found
        ingest = row.action == "capture.created"
        events[f"audit-event:{row.pk}"] = {
            "eventIdentifier": {"type": "local", "value": f"audit-event:{row.pk}"},
            "eventType": "ingestion" if ingest else "fixity check",
            "eventDateTime": row.created_at.isoformat(),
            "eventDetailInformation": {
                "eventDetail": (
                    f"Capture uploaded by {row.actor_label}; SHA-256 computed on arrival"
                    if ingest
                    else f"SHA-256 re-computed from storage: {row.details.get('actual_sha256')}"
                )
            },
            "eventOutcomeInformation": {
                "eventOutcome": "success"
                if ingest
                else ("pass" if row.action == "fixity.passed" else "fail")
            },
            "linkingAgentIdentifier": [
                {"type": "local", "value": f"user:{row.actor_label}", "role": "implementer"}
            ],
            "linkingObjectIdentifier": [{**_capture_id(capture), "role": "source"}],
        }
        agents.setdefault(
            f"user:{row.actor_label}",
            {
                "agentIdentifier": {"type": "local", "value": f"user:{row.actor_label}"},
                "agentName": row.actor_label,
                "agentType": "person" if row.actor_id else "software",
            },
        )
    for version in versions:
        record = version_provenance(version=version)
        for obj in record["objects"]:
            if obj.get("relationship", "").startswith("derivation (preservation master)"):
                objects[obj["objectIdentifier"]["value"]] = obj
        for event in record["events"]:
            events[event["eventIdentifier"]["value"]] = event
        for agent in record["agents"]:
            agents[agent["agentIdentifier"]["value"]] = agent
    ordered = sorted(events.values(), key=lambda e: e["eventDateTime"])
    return {"objects": list(objects.values()), "events": ordered, "agents": list(agents.values())}


def premis_xml(*, tape: Any, versions: list[Any]) -> bytes:
    record = tape_premis_events(tape=tape, versions=versions)
    root = ET.Element(f"{{{PREMIS_NS}}}premis", {"version": "3.0"})
    for obj in record["objects"]:
        element = _p(root, "object")
        element.set("{http://www.w3.org/2001/XMLSchema-instance}type", "premis:file")
        _identifier(element, "object", obj["objectIdentifier"])
        characteristics = _p(element, "objectCharacteristics")
        _p(characteristics, "compositionLevel", 0)
        fixity = _p(characteristics, "fixity")
        _p(fixity, "messageDigestAlgorithm", "SHA-256")
        _p(fixity, "messageDigest", obj["objectCharacteristics"]["fixity"]["messageDigest"])
        _p(characteristics, "size", obj["objectCharacteristics"]["size"])
        designation = _p(_p(characteristics, "format"), "formatDesignation")
        _p(designation, "formatName", obj["objectCharacteristics"]["format"]["formatName"])
        if obj.get("originalName"):
            _p(element, "originalName", obj["originalName"])
    for event in record["events"]:
        element = _p(root, "event")
        _identifier(element, "event", event["eventIdentifier"])
        _p(element, "eventType", event["eventType"])
        _p(element, "eventDateTime", event["eventDateTime"])
        detail = event.get("eventDetailInformation") or {}
        if detail:
            info = _p(element, "eventDetailInformation")
            _p(info, "eventDetail", detail.get("eventDetail", ""))
            if "eventDetailExtension" in detail:
                extension = _p(info, "eventDetailExtension")
                extension.text = json.dumps(detail["eventDetailExtension"], sort_keys=True)
        outcome = _p(element, "eventOutcomeInformation")
        _p(outcome, "eventOutcome", event["eventOutcomeInformation"]["eventOutcome"])
        if "eventOutcomeDetail" in event["eventOutcomeInformation"]:
            note = _p(outcome, "eventOutcomeDetail")
            _p(
                note,
                "eventOutcomeDetailNote",
                event["eventOutcomeInformation"]["eventOutcomeDetail"],
            )
        for agent in event.get("linkingAgentIdentifier", []):
            link = _p(element, "linkingAgentIdentifier")
            _p(link, "linkingAgentIdentifierType", agent["type"])
            _p(link, "linkingAgentIdentifierValue", agent["value"])
            _p(link, "linkingAgentRole", agent.get("role", ""))
        for obj in event.get("linkingObjectIdentifier", []):
            link = _p(element, "linkingObjectIdentifier")
            _p(link, "linkingObjectIdentifierType", obj["type"])
            _p(link, "linkingObjectIdentifierValue", obj["value"])
            _p(link, "linkingObjectRole", obj.get("role", ""))
    for agent in record["agents"]:
        element = _p(root, "agent")
        _identifier(element, "agent", agent["agentIdentifier"])
        _p(element, "agentName", agent.get("agentName", ""))
        _p(element, "agentType", agent.get("agentType", ""))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
