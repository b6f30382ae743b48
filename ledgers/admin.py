"""Ledger entries in the admin: readable, never added, changed or deleted there (entries
are written by the services, which keep the hash chain; corrections are reversals)."""

from django.contrib import admin

from ledgers.models import DeliveryUpdate, LedgerEntry, LedgerExport
from proposals.admin import ReadOnlyAdmin


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("budget_round", "sequence", "kind", "amount", "currency", "proposal")
    list_filter = ("kind", "budget_round")
    list_select_related = ("budget_round", "proposal")
    ordering = ("budget_round", "sequence")


@admin.register(DeliveryUpdate)
class DeliveryUpdateAdmin(ReadOnlyAdmin):
    list_display = ("proposal", "status", "happened_on")
    list_select_related = ("proposal",)


@admin.register(LedgerExport)
class LedgerExportAdmin(ReadOnlyAdmin):
    list_display = ("exported_at", "exported_by", "file_format")
    list_select_related = ("exported_by",)
