"""PREMIS-style provenance of a restored version, as JSON.

The record follows the PREMIS 3 data model (objects, events, agents, linked by identifiers),
rendered as JSON with PREMIS semantic unit names:

- objects: the source capture file and the two derivative files (master, access copy), each
  with its SHA-256 fixity, size and format;
- events: the "restoration" event (eventType, date/time, detail with every parameter, outcome)
  followed by the review decisions and publication events of the version;
- agents: the engine (software, with its version), the model (software, with its weights'
  SHA-256), the worker host, and the people who requested, reviewed and published.
"""

from __future__ import annotations

from typing import Any

from restoration.models import Publication, RestoredVersion

PREMIS_VERSION = "3.0"


def _id(kind: str, value: Any) -> dict[str, str]:
    return {"type": "local", "value": f"{kind}:{value}"}


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "agentIdentifier": _id("user", user.get_username()),
        "agentName": user.get_full_name() or user.get_username(),
        "agentType": "person",
    }


def version_provenance(*, version: RestoredVersion) -> dict[str, Any]:
    job = version.job
    capture = version.capture
    source_id = _id("capture", capture.uuid)
    master_id = _id("restored-version", f"{version.pk}/master")
    access_id = _id("restored-version", f"{version.pk}/access")
    engine_agent = _id("software", f"restoration-engine/{version.engine_version}")
    model_agent = _id("software", f"model/{version.model_variant}/{version.weights_sha256[:16]}")
    worker_agent = _id("host", job.worker_host or "unknown")

    objects = [
        {
            "objectIdentifier": source_id,
            "objectCategory": "file",
            "relationship": "source",
            "originalName": capture.original_filename,
            "objectCharacteristics": {
                "fixity": {"messageDigestAlgorithm": "SHA-256", "messageDigest": capture.sha256},
                "size": capture.size_bytes,
                "format": {"formatName": f"{capture.container}/{capture.video_codec}"},
            },
            "tape": {"id": version.tape_id, "identifier": getattr(version.tape, "identifier", "")},
        },
        {
            "objectIdentifier": master_id,
            "objectCategory": "file",
            "relationship": "derivation (preservation master)",
            "objectCharacteristics": {
                "fixity": {
                    "messageDigestAlgorithm": "SHA-256",
                    "messageDigest": version.master_sha256,
                },
                "size": version.master_size,
                "format": {"formatName": "Matroska/FFV1"},
            },
        },
        {
            "objectIdentifier": access_id,
            "objectCategory": "file",
            "relationship": "derivation (access copy)",
            "objectCharacteristics": {
                "fixity": {
                    "messageDigestAlgorithm": "SHA-256",
                    "messageDigest": version.access_sha256,
                },
                "size": version.access_size,
                "format": {"formatName": "MPEG-4/H.264"},
            },
        },
    ]
    requester = _person(job.requested_by)
    events: list[dict[str, Any]] = [
        {
            "eventIdentifier": _id("restoration-job", job.pk),
            "eventType": "restoration",
            "eventDateTime": (job.finished_at or version.created_at).isoformat(),
            "eventDetailInformation": {
                "eventDetail": (
                    f"Reference-based restoration with model {version.model_variant}, "
                    f"frames {version.frame_start}-{version.frame_end - 1}"
                    + (" (preview segment)" if version.is_preview else "")
                ),
                "eventDetailExtension": {
                    "parameters": version.parameters,
                    "model_variant": version.model_variant,
                    "weights_sha256": version.weights_sha256,
                    "reference_selector": version.scorer,
                    "engine_version": version.engine_version,
                    "device": job.device,
                    # Network arithmetic (fp32, or bf16/fp16 autocast): reduced precision changes
                    # the output slightly (README "Speed"), so the record says which was used.
                    "precision": (version.parameters or {}).get("precision", "fp32"),
                    "requested_at": job.created_at.isoformat(),
                    "started_at": job.started_at.isoformat() if job.started_at else None,
                    "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                    "timings": version.timings,
                    "artifact_score_mean_before": _mean(version.scores_before),
                    "artifact_score_mean_after": _mean(version.scores_after),
                },
            },
            "eventOutcomeInformation": {"eventOutcome": "success"},
            "linkingAgentIdentifier": [
                {**engine_agent, "role": "executing program"},
                {**model_agent, "role": "executing program"},
                {**worker_agent, "role": "host"},
                *([{**requester["agentIdentifier"], "role": "requester"}] if requester else []),
            ],
            "linkingObjectIdentifier": [
                {**source_id, "role": "source"},
                {**master_id, "role": "outcome"},
                {**access_id, "role": "outcome"},
            ],
        }
    ]
    people = {requester["agentIdentifier"]["value"]: requester} if requester else {}
    for decision in version.decisions.select_related("reviewer").order_by("created_at", "id"):
        reviewer = _person(decision.reviewer)
        assert reviewer is not None
        people[reviewer["agentIdentifier"]["value"]] = reviewer
        events.append(
            {
                "eventIdentifier": _id("review-decision", decision.pk),
                "eventType": "review",
                "eventDateTime": decision.created_at.isoformat(),
                "eventDetailInformation": {"eventDetail": decision.comment},
                "eventOutcomeInformation": {"eventOutcome": decision.decision},
                "linkingAgentIdentifier": [{**reviewer["agentIdentifier"], "role": "reviewer"}],
                "linkingObjectIdentifier": [{**master_id, "role": "reviewed"}],
            }
        )
    for publication in Publication.objects.filter(version=version).order_by("published_at", "id"):
        events.extend(_publication_events(publication, access_id, people))
    events.extend(fixity_events(version=version, source_id=source_id, master_id=master_id))
    agents = [
        {
            "agentIdentifier": engine_agent,
            "agentName": "tape-archive restoration engine",
            "agentType": "software",
            "agentVersion": version.engine_version,
        },
        {
            "agentIdentifier": model_agent,
            "agentName": f"restoration model {version.model_variant}",
            "agentType": "software",
            "agentNote": f"weights sha256 {version.weights_sha256}",
        },
        {"agentIdentifier": worker_agent, "agentName": job.worker_host, "agentType": "hardware"},
        *people.values(),
    ]
    return {
        "premis_version": PREMIS_VERSION,
        "restored_version": version.pk,
        "objects": objects,
        "events": events,
        "agents": agents,
    }


def _publication_events(
    publication: Publication, access_id: dict[str, str], people: dict[str, Any]
) -> list[dict[str, Any]]:
    events = []
    publisher = _person(publication.published_by)
    if publisher:
        people[publisher["agentIdentifier"]["value"]] = publisher
    events.append(
        {
            "eventIdentifier": _id("publication", publication.pk),
            "eventType": "dissemination",
            "eventDateTime": publication.published_at.isoformat(),
            "eventDetailInformation": {"eventDetail": publication.comment or "published"},
            "eventOutcomeInformation": {"eventOutcome": "published"},
            "linkingAgentIdentifier": [{**publisher["agentIdentifier"], "role": "publisher"}]
            if publisher
            else [],
            "linkingObjectIdentifier": [{**access_id, "role": "disseminated"}],
        }
    )
    if publication.unpublished_at is not None:
        withdrawer = _person(publication.unpublished_by)
        if withdrawer:
            people[withdrawer["agentIdentifier"]["value"]] = withdrawer
        events.append(
            {
                "eventIdentifier": _id("publication", f"{publication.pk}/end"),
                "eventType": "dissemination withdrawn",
                "eventDateTime": publication.unpublished_at.isoformat(),
                "eventOutcomeInformation": {"eventOutcome": publication.end_reason},
                "linkingAgentIdentifier": [{**withdrawer["agentIdentifier"], "role": "publisher"}]
                if withdrawer
                else [],
                "linkingObjectIdentifier": [{**access_id, "role": "withdrawn"}],
            }
        )
    return events


FIXITY_AGENT = _id("software", "tape-archive fixity check")


def fixity_events(
    *, version: RestoredVersion, source_id: dict[str, str], master_id: dict[str, str]
) -> list[dict[str, Any]]:
    """PREMIS "fixity check" events of the version's master and its source capture, read from
    the audit history (``fixity.passed`` / ``fixity.failed``, written by portal.preservation)."""
    from django.db.models import Q

    from portal.audit.models import AuditEvent

    targets = {
        ("restoration.restoredversion", str(version.pk)): master_id,
        ("captures.capture", str(version.capture_id)): source_id,
    }
    rows = (
        AuditEvent.objects.filter(action__in=["fixity.passed", "fixity.failed"])
        .filter(
            Q(target_type="restoration.restoredversion", target_id=str(version.pk))
            | Q(target_type="captures.capture", target_id=str(version.capture_id))
        )
        .order_by("created_at", "id")
    )
    return [
        {
            "eventIdentifier": _id("audit-event", row.pk),
            "eventType": "fixity check",
            "eventDateTime": row.created_at.isoformat(),
            "eventDetailInformation": {
                "eventDetail": "SHA-256 re-computed from storage: "
                f"{row.details.get('actual_sha256')}"
            },
            "eventOutcomeInformation": {
                "eventOutcome": "pass" if row.action == "fixity.passed" else "fail",
                **({"eventOutcomeDetail": row.details["error"]} if "error" in row.details else {}),
            },
            "linkingAgentIdentifier": [{**FIXITY_AGENT, "role": "executing program"}],
            "linkingObjectIdentifier": [
                {**targets[(row.target_type, row.target_id)], "role": "checked"}
            ],
        }
        for row in rows
    ]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
