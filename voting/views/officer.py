"""Officer voting pages (being written)."""

urlpatterns: list = []
