"""Auditors' pages: every ledger entry with who recorded it, and the CSV and JSON exports.

Exports stream: ``selectors.export_rows`` reads the entries from the database in chunks
and each chunk is sent as soon as it is written, so memory stays flat however large the
ledger (``bench/ledger_export.py`` measures it). Each export is logged before its first
byte leaves. The README ("Ledger exports for auditors") documents the columns and how to
check the hash chain of a downloaded file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_safe

from ledgers import services
from ledgers.forms import LedgerFilterForm
from ledgers.models import LedgerEntry, LedgerExport
from ledgers.permissions import can_audit_ledger
from ledgers.selectors import (
    EXPORT_COLUMNS,
    entries_filtered,
    entries_with_proposal_flags,
    export_rows,
)
from pb_platform.access import require
from pb_platform.text import csv_cell
from proposals.models import Area, BudgetRound

PAGE_SIZE = 50
RECENT_EXPORTS = 20
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}
# Rows per piece of the streamed response: big enough that the server is not handed a
# few hundred bytes at a time, small enough to stay a few hundred KB.
ROWS_PER_CHUNK = 500

# Columns people type into, made safe for spreadsheets by ``pb_platform.text.csv_cell``
# (reversibly: a verifier strips one leading ' from these columns, and only these).
# Money, dates, ids and hashes are never touched, so the hashes still check out.
FREE_TEXT_COLUMNS = frozenset(
    {
        "supplier",
        "reference",
        "description",
        "reason",
        "round_name",
        "area",
        "proposal_title",
        "recorded_by_email",
    }
)


def _filter_form(request: HttpRequest) -> LedgerFilterForm:
    rounds = list(BudgetRound.objects.only("pk", "name"))
    areas = list(Area.objects.only("slug", "name").order_by("name"))
    return LedgerFilterForm(request.GET, rounds=rounds, areas=areas)


# --- The page ------------------------------------------------------------------------------


def _entries_for_page(form: LedgerFilterForm) -> QuerySet[LedgerEntry]:
    return entries_with_proposal_flags(entries_filtered(**form.selection())).select_related(
        "budget_round", "proposal__round_area__area", "recorded_by", "reverses"
    )


def _recent_exports(form: LedgerFilterForm) -> list[dict[str, Any]]:
    """The latest exports, each with its filters in words (names from the form's lists,
    so no query per export)."""
    round_names = dict(form.fields["round"].choices)
    area_names = dict(form.fields["area"].choices)
    newest_first = LedgerExport.objects.select_related("exported_by").order_by(
        "-exported_at", "-pk"
    )
    exports = newest_first[:RECENT_EXPORTS]
    return [
        {"export": export, "filters": _filters_in_words(export.filters, round_names, area_names)}
        for export in exports
    ]


def _filters_in_words(
    filters: Mapping[str, Any], round_names: Mapping[Any, Any], area_names: Mapping[Any, Any]
) -> str:
    words = []
    if filters.get("round") is not None:
        words.append(
            _("round: %(name)s")
            % {"name": round_names.get(filters["round"], f"#{filters['round']}")}
        )
    if filters.get("area"):
        words.append(
            _("area: %(name)s") % {"name": area_names.get(filters["area"], filters["area"])}
        )
    if filters.get("from"):
        words.append(_("recorded from %(date)s") % {"date": filters["from"]})
    if filters.get("to"):
        words.append(_("recorded to %(date)s") % {"date": filters["to"]})
    return "; ".join(str(word) for word in words) or _("every entry")


@require_safe
@require(can_audit_ledger)
def audit_entries(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    entries = None
    if form.is_valid():
        entries = Paginator(_entries_for_page(form), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "ledgers/audit/entries.html",
        {
            "form": form,
            "entries": entries,
            "query_string": form.query_string() if form.is_valid() else "",
            "exports": _recent_exports(form),
        },
    )


# --- The exports ---------------------------------------------------------------------------


class _Echo:
    """A file for ``csv.writer`` that hands back each line instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(
    rows: Iterable[Mapping[str, Any]], *, columns: tuple[str, ...] = EXPORT_COLUMNS
) -> Iterator[str]:
    """A header of ``columns``, then one line per row, a few hundred rows a piece."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    lines: list[str] = []
    for row in rows:
        lines.append(
            writer.writerow(
                [
                    csv_cell(row[name]) if name in FREE_TEXT_COLUMNS else row[name]
                    for name in columns
                ]
            )
        )
        if len(lines) == ROWS_PER_CHUNK:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


def json_chunks(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """One JSON array, written piece by piece: valid JSON for any number of rows."""
    yield "["
    pieces: list[str] = []
    separator = "\n"
    for row in rows:
        pieces.append(separator + json.dumps(row, ensure_ascii=False))
        separator = ",\n"
        if len(pieces) == ROWS_PER_CHUNK:
            yield "".join(pieces)
            pieces.clear()
    yield "".join(pieces) + "\n]\n"


def _filename(export: LedgerExport, file_format: str) -> str:
    filters = export.filters
    parts = ["ledger"]
    if filters["round"] is not None:
        parts.append(f"round-{filters['round']}")
    parts.extend(value for value in (filters["area"], filters["from"], filters["to"]) if value)
    parts.append(timezone.localtime(export.exported_at).strftime("%Y%m%d-%H%M%S"))
    return "-".join(parts) + "." + file_format


# Even if ATOMIC_REQUESTS is turned on: the log needs its own committed transaction, and
# the entries are read while the response streams, after the view has returned anyway.
@transaction.non_atomic_requests
@require_GET
@require(can_audit_ledger)
def audit_export(request: HttpRequest, file_format: str) -> HttpResponse:
    if file_format not in CONTENT_TYPES:
        raise Http404
    form = _filter_form(request)
    if not form.is_valid():
        return HttpResponse(form.problems(), status=400, content_type="text/plain; charset=utf-8")
    export = services.ledger_export_record(
        auditor=request.user,
        file_format=file_format,
        filters=form.filters_record(),
        now=timezone.now(),
    )
    rows = export_rows(entries_filtered(**form.selection()))
    chunks = csv_chunks(rows) if file_format == "csv" else json_chunks(rows)
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{_filename(export, file_format)}"'
    # Emails and who-did-what: no shared cache should keep a copy.
    add_never_cache_headers(response)
    return response


urlpatterns = [
    path("audit/ledger/", audit_entries, name="audit_entries"),
    path("audit/ledger/export.<str:file_format>", audit_export, name="audit_export"),
]
