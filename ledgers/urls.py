"""Ledgers' pages. Each views module lists its own URLs; this gathers them."""

from ledgers.views import assessments, audit, officer, public

app_name = "ledgers"

urlpatterns = [
    *public.urlpatterns,
    *officer.urlpatterns,
    *audit.urlpatterns,
    *assessments.urlpatterns,
]
