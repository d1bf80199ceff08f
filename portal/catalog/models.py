"""The catalog: collections and tapes, aligned with PBCore.

PBCore (https://pbcore.org) separates the intellectual *asset* (``pbcoreDescriptionDocument``:
title, description, subjects, rights) from its *instantiations* (``pbcoreInstantiation``: one
physical or digital manifestation, with format, standard, duration, location). Here a ``Tape`` is
a **physical instantiation** (the carrier on the shelf) that also carries the descriptive asset
fields an archive records for it, since a tape usually is the only instantiation of its content;
each ``Capture`` (portal.captures) is a **digital instantiation** derived from the tape.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from portal.catalog.dates import parse_approximate_date
from portal.db import InstitutionScopedQuerySet


class Collection(models.Model):
    """A group of tapes (a fonds, a donation, a series): PBCore ``pbcoreRelation``/collection."""

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstitutionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "name"], name="unique_collection_name_per_institution"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CarrierFormat(models.TextChoices):
    """PBCore ``instantiationPhysical`` values for analog and early digital videotape."""

    VHS = "vhs", "VHS"
    SVHS = "s-vhs", "S-VHS"
    VHSC = "vhs-c", "VHS-C"
    UMATIC = "u-matic", "U-matic"
    BETACAM = "betacam", "Betacam"
    BETACAM_SP = "betacam-sp", "Betacam SP"
    VIDEO8 = "video8", "Video8"
    HI8 = "hi8", "Hi8"
    DIGITAL8 = "digital8", "Digital8"
    MINIDV = "minidv", "MiniDV"
    ONE_INCH = "1-inch", "1-inch"
    OTHER = "other", "Other"


class VideoStandard(models.TextChoices):
    """PBCore ``instantiationStandard``."""

    PAL = "pal", "PAL"
    NTSC = "ntsc", "NTSC"
    SECAM = "secam", "SECAM"


class Condition(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    GOOD = "good", "Good"
    FAIR = "fair", "Fair"
    POOR = "poor", "Poor"
    CRITICAL = "critical", "Critical (do not play before treatment)"


class TapeQuerySet(InstitutionScopedQuerySet["Tape"]):
    pass


class Tape(models.Model):
    """A videotape: a physical PBCore instantiation, with its asset's descriptive fields.

    Instantiation fields: ``identifier`` (``instantiationIdentifier``, unique within the
    institution), ``carrier_format`` (``instantiationPhysical``), ``video_standard``
    (``instantiationStandard``), ``duration`` (``instantiationDuration``), ``shelf_location``
    (``instantiationLocation``), ``condition``/``condition_notes`` (``instantiationAnnotation``).
    Asset fields: ``title`` (``pbcoreTitle``), ``description`` (``pbcoreDescription``),
    ``subjects`` (``pbcoreSubject``, separated by ";"), ``language``
    (``instantiationLanguage``), ``rights_statement`` (``pbcoreRightsSummary``),
    ``recording_date`` (``pbcoreAssetDate`` type "created", kept as written;
    ``date_start``/``date_end`` are its parsed range for sorting).
    """

    FIELDS = (
        "identifier",
        "title",
        "collection",
        "carrier_format",
        "video_standard",
        "recording_date",
        "duration",
        "condition",
        "condition_notes",
        "description",
        "subjects",
        "language",
        "rights_statement",
        "shelf_location",
    )

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="tapes"
    )
    collection = models.ForeignKey(
        Collection, on_delete=models.PROTECT, null=True, blank=True, related_name="tapes"
    )
    identifier = models.CharField(
        max_length=100, help_text="Shelf mark or barcode, unique within your institution."
    )
    title = models.CharField(max_length=300, blank=True)
    carrier_format = models.CharField(
        "format", max_length=16, choices=CarrierFormat.choices, default=CarrierFormat.VHS
    )
    video_standard = models.CharField(
        "standard", max_length=8, choices=VideoStandard.choices, blank=True
    )
    recording_date = models.CharField(
        max_length=50,
        blank=True,
        help_text='As precise as known: "1973-05-12", "1973", "c. 1975", "1980s".',
    )
    date_start = models.DateField(null=True, blank=True, editable=False)
    date_end = models.DateField(null=True, blank=True, editable=False)
    duration = models.DurationField(null=True, blank=True, help_text="HH:MM:SS")
    condition = models.CharField(
        max_length=16, choices=Condition.choices, default=Condition.UNKNOWN
    )
    condition_notes = models.TextField(blank=True)
    description = models.TextField(blank=True)
    subjects = models.TextField(blank=True, help_text='Separated by ";".')
    language = models.CharField(max_length=50, blank=True, help_text="e.g. en, de, fr")
    rights_statement = models.TextField(blank=True)
    shelf_location = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TapeQuerySet.as_manager()

    class Meta:
        ordering = ["identifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "identifier"], name="unique_tape_identifier_per_institution"
            )
        ]
        indexes = [
            models.Index(fields=["institution", "date_start"]),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} {self.title}".strip()

    def clean(self) -> None:
        try:
            self.date_start, self.date_end = parse_approximate_date(self.recording_date)
        except ValidationError as exc:
            raise ValidationError({"recording_date": exc.messages}) from exc
        if self.collection_id and self.collection.institution_id != self.institution_id:
            raise ValidationError({"collection": "Choose a collection of your institution."})

    @property
    def subject_list(self) -> list[str]:
        return [part.strip() for part in self.subjects.split(";") if part.strip()]


class TapeMetadata(models.Model):
    """Free key/value metadata of a tape (a local field a standard form has no place for)."""

    tape = models.ForeignKey(Tape, on_delete=models.CASCADE, related_name="metadata")
    key = models.CharField(max_length=100)
    value = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["tape", "key"], name="unique_metadata_key_per_tape")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
