"""Admin screens. Rounds, areas and residents' areas are changed in the site, where the
services apply the rules (e.g. whether an area counts as the whole council is frozen
once it took part in voting; an area's address never changes) and keep the audit
history; here they are read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from proposals.models import (
    Area,
    BudgetRound,
    ResidentAreaChange,
    ResidentProfile,
    RoundArea,
    RoundChange,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RoundAreaInline(admin.TabularInline):
    model = RoundArea
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BudgetRound)
class BudgetRoundAdmin(ReadOnlyAdmin):
    list_display = ["name", "currency", "total_budget", "state", "voting_starts", "voting_ends"]
    list_filter = ["state", "counting_rule"]
    search_fields = ["name"]
    inlines = [RoundAreaInline]


@admin.register(Area)
class AreaAdmin(ReadOnlyAdmin):
    list_display = ["name", "population", "is_city_wide"]
    search_fields = ["name"]


@admin.register(ResidentProfile)
class ResidentProfileAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "user", "area"]
    list_filter = ["area"]
    search_fields = ["display_name", "user__email"]
    list_select_related = ["user", "area"]


@admin.register(RoundChange)
class RoundChangeAdmin(ReadOnlyAdmin):
    list_display = ["budget_round", "action", "changed_by", "changed_at"]
    list_select_related = ["budget_round", "changed_by"]


@admin.register(ResidentAreaChange)
class ResidentAreaChangeAdmin(ReadOnlyAdmin):
    list_display = ["profile", "from_area", "to_area", "changed_by", "changed_at"]
    list_select_related = ["profile", "from_area", "to_area", "changed_by"]
