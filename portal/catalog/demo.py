"""Demo data for ``manage.py seed_demo`` / ``rundemo``: an institution, three users, a collection
with a few tapes and one real capture. Idempotent: a second run finds everything and adds nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Institution, Membership, Role
from portal.catalog.models import Collection, Tape
from portal.catalog.services import collection_create, tape_create

DEMO_INSTITUTION = {"slug": "demo-archive", "name": "Demo Video Archive"}
#: (username, role, password). Demo only: change or delete these users on a real install.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("archivist", Role.ARCHIVIST, "demo-archivist-pass"),
    ("reviewer", Role.REVIEWER, "demo-reviewer-pass"),
    ("manager", Role.MANAGER, "demo-manager-pass"),
)
DEMO_COLLECTION = "City festival recordings"
DEMO_TAPES: tuple[dict[str, Any], ...] = (
    {
        "identifier": "DEMO-UM-001",
        "title": "Summer festival, opening parade",
        "carrier_format": "u-matic",
        "video_standard": "pal",
        "recording_date": "1978-07-14",
        "duration": dt.timedelta(minutes=20),
        "condition": "fair",
        "condition_notes": "Light dropouts in the first minutes.",
        "description": "Parade through the old town, brass bands and floats.",
        "subjects": "festival; parade; music",
        "language": "de",
        "shelf_location": "Vault B, shelf 3",
        "metadata": {"donor": "City press office", "reel": "1 of 2"},
    },
    {
        "identifier": "DEMO-VHS-014",
        "title": "Harbour strike interviews",
        "carrier_format": "vhs",
        "video_standard": "pal",
        "recording_date": "c. 1984",
        "duration": dt.timedelta(minutes=95),
        "condition": "poor",
        "condition_notes": "Mould on the tape edge; cleaned 2019.",
        "description": "Interviews with dock workers recorded by a local TV collective.",
        "subjects": "labour; harbour; interviews",
        "language": "de",
        "shelf_location": "Vault B, shelf 4",
        "metadata": {"donor": "Video collective Nord"},
    },
    {
        "identifier": "DEMO-HI8-203",
        "title": "Family holiday",
        "carrier_format": "hi8",
        "video_standard": "pal",
        "recording_date": "1990s",
        "condition": "good",
        "description": "Home movie: beach, camping, a birthday.",
        "subjects": "home movies; holidays",
        "shelf_location": "Room 2, box 17",
    },
    {
        "identifier": "DEMO-BETA-007",
        "title": "Evening news, election night",
        "carrier_format": "betacam-sp",
        "video_standard": "ntsc",
        "recording_date": "1988-11",
        "duration": dt.timedelta(minutes=30),
        "condition": "good",
        "description": "Broadcast master of the local evening news.",
        "subjects": "news; elections",
        "language": "en",
        "rights_statement": "In copyright; contact the broadcaster before reuse.",
        "shelf_location": "Vault A, shelf 1",
    },
)


@dataclass
class DemoSummary:
    institution: Institution
    users: list[tuple[str, str, str, bool]] = field(default_factory=list)  # name, role, pw, new
    created_tapes: int = 0
    capture: Any = None
    capture_error: str = ""


def _ensure_user(
    institution: Institution, username: str, role: str, password: str
) -> tuple[Any, bool]:
    users = get_user_model()
    user = users.objects.filter(username=username).first()
    created = user is None
    if created:
        user = users.objects.create_user(
            username=username, email=f"{username}@demo.invalid", password=password
        )
    Membership.objects.get_or_create(user=user, institution=institution, defaults={"role": role})
    return user, created


@transaction.atomic
def seed_catalog() -> tuple[DemoSummary, Any, Tape]:
    institution, _ = Institution.objects.get_or_create(
        slug=DEMO_INSTITUTION["slug"], defaults={"name": DEMO_INSTITUTION["name"]}
    )
    summary = DemoSummary(institution=institution)
    people = {}
    for username, role, password in DEMO_USERS:
        user, created = _ensure_user(institution, username, role, password)
        people[role] = user
        summary.users.append((username, str(role), password, created))
    archivist = people[Role.ARCHIVIST]
    collection = (
        Collection.objects.for_institution(institution).filter(name=DEMO_COLLECTION).first()
    )
    if collection is None:
        collection = collection_create(
            actor=archivist,
            institution=institution,
            name=DEMO_COLLECTION,
            description="Tapes donated by the city press office and local video groups.",
        )
    for spec in DEMO_TAPES:
        fields = dict(spec)
        metadata = fields.pop("metadata", None)
        if (
            Tape.objects.for_institution(institution)
            .filter(identifier=fields["identifier"])
            .exists()
        ):
            continue
        tape_create(
            actor=archivist,
            institution=institution,
            collection=collection,
            metadata=metadata,
            **fields,
        )
        summary.created_tapes += 1
    first_tape = Tape.objects.for_institution(institution).get(
        identifier=DEMO_TAPES[0]["identifier"]
    )
    return summary, archivist, first_tape
