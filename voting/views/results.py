"""Results pages (being written)."""

urlpatterns: list = []
