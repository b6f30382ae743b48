"""Voting's pages. Each views module lists its own URLs; this gathers them."""

from voting.views import ballots, officer, results

app_name = "voting"

urlpatterns = [*ballots.urlpatterns, *officer.urlpatterns, *results.urlpatterns]
