from django.contrib import admin

from portal.admin_audit import AuditedModelAdmin
from portal.catalog.models import Collection, Tape, TapeMetadata


class TapeMetadataInline(admin.TabularInline):
    model = TapeMetadata
    extra = 0


@admin.register(Collection)
class CollectionAdmin(AuditedModelAdmin):
    list_display = ["name", "institution", "created_at"]
    list_filter = ["institution"]
    search_fields = ["name"]


@admin.register(Tape)
class TapeAdmin(AuditedModelAdmin):
    list_display = ["identifier", "title", "institution", "carrier_format", "video_standard"]
    list_filter = ["institution", "carrier_format", "video_standard"]
    search_fields = ["identifier", "title"]
    inlines = [TapeMetadataInline]
