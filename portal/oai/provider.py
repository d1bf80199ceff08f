"""OAI-PMH 2.0 data provider (https://www.openarchives.org/OAI/openarchivesprotocol.html).

Records are the tapes the public may see: a tape with a current publication at an institution
that shows publications to the public (``public_access``, the same rule as the public tape
page). A tape whose publication was withdrawn stays as a deleted record (``status="deleted"``,
no metadata), so harvesters remove it; deletions are "transient" in the protocol's terms: an
institution that stops showing publications takes its records, deleted ones too, out of the
repository. A record's datestamp is its last change: the tape's edit, its publication or its
withdrawal, and ``from``/``until`` select on it.

Formats: ``oai_dc`` and ``pbcore`` (PBCore 2.1, ``portal.catalog.pbcore``); one set per
collection (``collection:<id>``). Lists are paged with resumption tokens (``OAI_PAGE_SIZE``
records per page); a token encodes the request and the position, so it stays valid as long as
the arguments it carries make sense. Errors follow the protocol (badVerb, badArgument,
badResumptionToken, cannotDisseminateFormat, idDoesNotExist, noRecordsMatch).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from portal.catalog.dates import to_edtf
from portal.catalog.models import Collection, Tape
from portal.catalog.pbcore import NS as PBCORE_NS
from portal.catalog.pbcore import tape_document

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
FORMATS = {
    "oai_dc": (f"{OAI_DC}", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
    "pbcore": (PBCORE_NS, "https://pbcore.org/xsd/pbcore-2.1.xsd"),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
for prefix, uri in (("oai", OAI), ("oai_dc", OAI_DC), ("dc", DC), ("xsi", XSI)):
    ET.register_namespace(prefix, uri)


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_tapes() -> QuerySet[Tape]:
    """Every record, current or deleted: the tapes ever published at a public institution,
    annotated with ``is_current`` and ``stamp`` (the datestamp)."""
    from restoration.models import Publication

    current = Publication.objects.current().filter(tape=OuterRef("pk"))
    ever = Publication.objects.filter(tape=OuterRef("pk"))
    withdrawn = (
        Publication.objects.filter(tape=OuterRef("pk"))
        .values("tape")
        .annotate(last=Max("unpublished_at"))
        .values("last")
    )
    return (
        Tape.objects.filter(Exists(ever), institution__public_access=True)
        .annotate(
            is_current=Exists(current),
            published_at=Subquery(current.values("published_at")[:1]),
            withdrawn_at=Subquery(withdrawn[:1]),
        )
        .annotate(
            stamp=Greatest(
                "updated_at",
                Coalesce("published_at", "updated_at"),
                Coalesce("withdrawn_at", "updated_at"),
            )
        )
        .select_related("institution", "collection")
        .prefetch_related("metadata", "captures")
        .order_by("pk")
    )


def public_tapes() -> QuerySet[Tape]:
    """The records that are not deleted: tapes the public may see now."""
    return record_tapes().filter(is_current=True)


def record_identifier(tape: Tape) -> str:
    return f"oai:{settings.OAI_REPOSITORY_IDENTIFIER}:tape:{tape.pk}"


def _parse_date(value: str, *, end: bool) -> dt.datetime:
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
            return moment.replace(tzinfo=dt.UTC)
        if value.endswith("Z") and len(value) == 20:
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    raise OAIError("badArgument", f"{value!r} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ).")


@dataclass
class ListRequest:
    prefix: str
    from_: str | None
    until: str | None
    set_spec: str | None
    offset: int = 0

    def token(self, offset: int) -> str:
        data = {"p": self.prefix, "f": self.from_, "u": self.until, "s": self.set_spec, "o": offset}
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    @classmethod
    def from_token(cls, token: str) -> ListRequest:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            return cls(data["p"], data["f"], data["u"], data["s"], int(data["o"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise OAIError("badResumptionToken", "This resumption token is not valid.") from exc


class Provider:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def respond(self, params: dict[str, list[str]]) -> bytes:
        root = ET.Element(_q(OAI, "OAI-PMH"))
        root.set(
            _q(XSI, "schemaLocation"), f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
        )
        ET.SubElement(root, _q(OAI, "responseDate")).text = _stamp(timezone.now())
        request = ET.SubElement(root, _q(OAI, "request"))
        request.text = self.base_url
        verb = params.get("verb", [""])[0]
        try:
            args = self._check(params, verb)
            for name, value in args.items():
                request.set(name, value)
            request.set("verb", verb)
            getattr(self, f"_{verb}")(root, args)
        except OAIError as error:
            ET.SubElement(root, _q(OAI, "error"), {"code": error.code}).text = error.message
        return ET.tostring(root, xml_declaration=True, encoding="utf-8")

    def _check(self, params: dict[str, list[str]], verb: str) -> dict[str, str]:
        if verb not in VERBS or len(params.get("verb", [])) != 1:
            raise OAIError("badVerb", f"{verb!r} is not an OAI-PMH verb.")
        required, optional = VERBS[verb]
        args = {name: values for name, values in params.items() if name != "verb"}
        if any(len(values) > 1 for values in args.values()):
            raise OAIError("badArgument", "An argument is repeated.")
        flat = {name: values[0] for name, values in args.items()}
        illegal = set(flat) - required - optional
        if illegal:
            raise OAIError("badArgument", f"Illegal arguments: {', '.join(sorted(illegal))}.")
        if "resumptionToken" in flat:
            if len(flat) > 1:
                raise OAIError("badArgument", "resumptionToken is an exclusive argument.")
            return flat
        missing = required - set(flat)
        if missing:
            raise OAIError("badArgument", f"Missing arguments: {', '.join(sorted(missing))}.")
        return flat

    # --- verbs ------------------------------------------------------------------------------

    def _Identify(self, root: ET.Element, args: dict[str, str]) -> None:
        node = ET.SubElement(root, _q(OAI, "Identify"))
        earliest = record_tapes().order_by("stamp").first()
        for name, value in (
            ("repositoryName", settings.OAI_REPOSITORY_NAME),
            ("baseURL", self.base_url),
            ("protocolVersion", "2.0"),
            ("adminEmail", settings.OAI_ADMIN_EMAIL),
            (
                "earliestDatestamp",
                _stamp(earliest.stamp) if earliest else "1970-01-01T00:00:00Z",
            ),
            ("deletedRecord", "transient"),
            ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
        ):
            ET.SubElement(node, _q(OAI, name)).text = value

    def _ListMetadataFormats(self, root: ET.Element, args: dict[str, str]) -> None:
        if "identifier" in args:
            self._tape(args["identifier"])
        node = ET.SubElement(root, _q(OAI, "ListMetadataFormats"))
        for prefix, (namespace, schema) in FORMATS.items():
            item = ET.SubElement(node, _q(OAI, "metadataFormat"))
            ET.SubElement(item, _q(OAI, "metadataPrefix")).text = prefix
            ET.SubElement(item, _q(OAI, "schema")).text = schema
            ET.SubElement(item, _q(OAI, "metadataNamespace")).text = namespace

    def _ListSets(self, root: ET.Element, args: dict[str, str]) -> None:
        if "resumptionToken" in args:
            raise OAIError("badResumptionToken", "ListSets is not paged.")
        collections = (
            Collection.objects.filter(tapes__in=record_tapes().values("pk"))
            .select_related("institution")
            .distinct()
            .order_by("pk")
        )
        node = ET.SubElement(root, _q(OAI, "ListSets"))
        for collection in collections:
            item = ET.SubElement(node, _q(OAI, "set"))
            ET.SubElement(item, _q(OAI, "setSpec")).text = f"collection:{collection.pk}"
            ET.SubElement(
                item, _q(OAI, "setName")
            ).text = f"{collection.institution.name}: {collection.name}"

    def _ListIdentifiers(self, root: ET.Element, args: dict[str, str]) -> None:
        self._list(root, args, "ListIdentifiers", full=False)

    def _ListRecords(self, root: ET.Element, args: dict[str, str]) -> None:
        self._list(root, args, "ListRecords", full=True)

    def _GetRecord(self, root: ET.Element, args: dict[str, str]) -> None:
        prefix = self._prefix(args["metadataPrefix"])
        tape = self._tape(args["identifier"])
        node = ET.SubElement(root, _q(OAI, "GetRecord"))
        self._record(node, tape, prefix)

    # --- helpers ----------------------------------------------------------------------------

    def _prefix(self, prefix: str) -> str:
        if prefix not in FORMATS:
            raise OAIError(
                "cannotDisseminateFormat", f"Formats: {', '.join(FORMATS)} (not {prefix!r})."
            )
        return prefix

    def _tape(self, identifier: str) -> Any:
        head, _, pk = identifier.rpartition(":")
        tape = None
        if head == f"oai:{settings.OAI_REPOSITORY_IDENTIFIER}:tape" and pk.isdigit():
            tape = record_tapes().filter(pk=int(pk)).first()
        if tape is None:
            raise OAIError("idDoesNotExist", f"No public record {identifier!r}.")
        return tape

    def _list(self, root: ET.Element, args: dict[str, str], verb: str, *, full: bool) -> None:
        if "resumptionToken" in args:
            query = ListRequest.from_token(args["resumptionToken"])
        else:
            query = ListRequest(
                args["metadataPrefix"], args.get("from"), args.get("until"), args.get("set")
            )
        prefix = self._prefix(query.prefix)
        tapes = record_tapes()
        if query.from_:
            tapes = tapes.filter(stamp__gte=_parse_date(query.from_, end=False))
        if query.until:
            tapes = tapes.filter(stamp__lte=_parse_date(query.until, end=True))
        if query.from_ and query.until and len(query.from_) != len(query.until):
            raise OAIError("badArgument", "from and until must have the same granularity.")
        if query.set_spec:
            kind, _, pk = query.set_spec.partition(":")
            if kind != "collection" or not pk.isdigit():
                raise OAIError("badArgument", f"Unknown set {query.set_spec!r}.")
            tapes = tapes.filter(collection_id=int(pk))
        total = tapes.count()
        size = settings.OAI_PAGE_SIZE
        if query.offset >= total and "resumptionToken" in args and total:
            raise OAIError("badResumptionToken", "This resumption token is past the end.")
        page = list(tapes[query.offset : query.offset + size])
        if not page:
            raise OAIError("noRecordsMatch", "No public records match these arguments.")
        node = ET.SubElement(root, _q(OAI, verb))
        for tape in page:
            if full:
                self._record(node, tape, prefix)
            else:
                self._header(node, tape)
        following = query.offset + len(page)
        if following < total or "resumptionToken" in args:
            token = ET.SubElement(
                node,
                _q(OAI, "resumptionToken"),
                {"completeListSize": str(total), "cursor": str(query.offset)},
            )
            token.text = query.token(following) if following < total else ""

    def _header(self, parent: ET.Element, tape: Any) -> None:
        header = ET.SubElement(parent, _q(OAI, "header"))
        if not tape.is_current:
            header.set("status", "deleted")
        ET.SubElement(header, _q(OAI, "identifier")).text = record_identifier(tape)
        ET.SubElement(header, _q(OAI, "datestamp")).text = _stamp(tape.stamp)
        if tape.collection_id:
            ET.SubElement(header, _q(OAI, "setSpec")).text = f"collection:{tape.collection_id}"

    def _record(self, parent: ET.Element, tape: Any, prefix: str) -> None:
        record = ET.SubElement(parent, _q(OAI, "record"))
        self._header(record, tape)
        if not tape.is_current:
            return  # a deleted record is its header alone
        metadata = ET.SubElement(record, _q(OAI, "metadata"))
        if prefix == "oai_dc":
            metadata.append(self._dublin_core(tape))
        else:
            from portal.api.xml import published_version

            metadata.append(tape_document(tape, published=published_version(tape)))

    def _dublin_core(self, tape: Any) -> ET.Element:
        dc = ET.Element(_q(OAI_DC, "dc"))
        dc.set(
            _q(XSI, "schemaLocation"),
            f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
        )

        def add(name: str, value: str) -> None:
            if value:
                ET.SubElement(dc, _q(DC, name)).text = value

        add("title", tape.title or tape.identifier)
        add("identifier", tape.identifier)
        add("identifier", f"{self.base_url.rsplit('/oai', 1)[0]}/public/tapes/{tape.pk}/")
        add("date", to_edtf(tape.recording_date) if tape.recording_date else "")
        add("description", tape.description)
        for subject in tape.subject_list:
            add("subject", subject)
        add("type", "MovingImage")
        add("format", tape.get_carrier_format_display())
        add("language", tape.language)
        add("rights", tape.rights_statement)
        add("publisher", tape.institution.name)
        if tape.collection_id:
            add("relation", tape.collection.name)
        return dc
