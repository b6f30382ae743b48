"""A recount anyone can run: the published Pabulib file is generated once, recounted before
publication and served byte for byte ever after with its SHA-256; ``verify_result``
recounts from the database and from the file; the README's pabutools snippet recounts
the download to the published winners."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pb_platform.models import JobItem, JobItemStatus
from proposals.models import CountingRule
from tests.factories import round_history_rewrite
from tests.voting import test_results_pages
from tests.voting.test_results_pages import area_url, count_and_publish, page_text
from voting.models import AreaResult, BallotChoice, ResultFile, ResultFileImmutableError
from voting.pabulib import parse_pabulib, write_pabulib
from voting.services import results
from voting.tasks import close_count_publish

# The results pages' election (greedy, 5,000: Lights and Benches funded), as fixtures here.
election = test_results_pages.election
published = test_results_pages.published

README = Path(__file__).resolve().parents[2] / "README.md"


def run(*args: str) -> tuple[int, str]:
    """A command's exit status and what it printed."""
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def stored_file(round_area) -> ResultFile:
    return ResultFile.objects.get(result__round_area=round_area)


# --- One file, stored and served byte for byte --------------------------------------------


def test_every_download_is_the_same_stored_file_and_the_page_shows_its_sha256(
    published, anonymous_client
):
    downloads = [anonymous_client.get(area_url("area_results_pabulib")) for _ in range(3)]

    stored = stored_file(published["round_area"])
    assert {response.content for response in downloads} == {stored.content.encode()}
    digest = hashlib.sha256(downloads[0].content).hexdigest()
    assert digest == stored.sha256
    page = anonymous_client.get(area_url("area_results")).content.decode()
    assert f'<code class="sha256">{digest}</code>' in page
    assert "its SHA-256 is " + digest in page_text(anonymous_client.get(area_url("area_results")))


def test_the_results_page_reads_the_digest_but_never_the_files_text(published, anonymous_client):
    with CaptureQueriesContext(connection) as queries:
        anonymous_client.get(area_url("area_results"))

    file_queries = [query["sql"] for query in queries if "voting_resultfile" in query["sql"]]
    assert file_queries and all('"sha256"' in sql for sql in file_queries)
    assert not any('voting_resultfile"."content"' in sql for sql in file_queries)


def test_export_pabulib_writes_the_stored_file(published, tmp_path):
    round_id = str(published["round"].pk)
    target = tmp_path / "export.pb"

    _status, printed = run("export_pabulib", round_id, "--area", "area-a")
    run("export_pabulib", round_id, "--area", "area-a", "-o", str(target))

    stored = stored_file(published["round_area"]).content
    assert printed == stored
    assert target.read_bytes() == stored.encode()


def test_the_greedy_page_states_its_rule_tie_break_and_software(published, anonymous_client):
    text = page_text(anonymous_client.get(area_url("area_results")))

    assert "Rule Greedy by votes: proposals in order of their votes, most first" in text
    assert "add1" not in text
    assert "smallest id goes first, with ids compared as text" in text
    assert re.search(r"Software Commonpurse \d+\.\d+\.\d+\. Its rules give exactly", text)


def test_a_stored_file_is_never_changed(published):
    stored = stored_file(published["round_area"])
    stored.content += "\n"

    with pytest.raises(ResultFileImmutableError):
        stored.save()
    with pytest.raises(ResultFileImmutableError):
        stored.delete()
    # Past the model, the database refuses too (PostgreSQL: UPDATE and DELETE).
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic():
        ResultFile.objects.filter(pk=stored.pk).update(sha256="0" * 64)


@pytest.mark.postgresql
def test_postgresql_refuses_deleting_a_stored_file_or_a_digest_not_of_its_text(published):
    stored = stored_file(published["round_area"])
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic():
        ResultFile.objects.filter(pk=stored.pk).delete()
    # A digest that is not the text's: refused even with the triggers off.
    with (
        pytest.raises(DatabaseError, match="result_file_sha256_of_content"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE voting_resultfile SET content = 'x' WHERE result_id = %s", [stored.pk]
        )


# --- The close job recounts the file before it publishes -----------------------------------


def test_a_file_that_recounts_differently_is_a_failed_item_and_nothing_is_published(
    election, monkeypatch
):
    """Greedy funds Lights and Benches; a writer that puts every ballot on Fountain (a
    bug the recount exists to catch) makes the file fund Fountain."""
    round_area = election["round_area"]
    fountain = election["proposals"]["Fountain"].pabulib_id
    write_file = results.round_area_pabulib_text

    def wrong_file(*, round_area):
        data = parse_pabulib(write_file(round_area=round_area).splitlines(keepends=True))
        stream = io.StringIO()
        votes = [(voter, frozenset({fountain})) for voter, _approved in data.votes]
        write_pabulib(type(data)(meta=data.meta, projects=data.projects, votes=votes), stream)
        return stream.getvalue()

    monkeypatch.setattr(results, "round_area_pabulib_text", wrong_file)
    after_voting = election["round"].voting_ends + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: after_voting)

    # Area B (no ballots) is published; area A is not.
    assert close_count_publish.apply().get() == 1

    assert not AreaResult.objects.filter(round_area=round_area).exists()
    assert not ResultFile.objects.filter(result__round_area=round_area).exists()
    round_area.refresh_from_db()
    assert round_area.voting_closed_at is None  # the claim was undone with the rest
    item = JobItem.objects.get(
        job="voting.close_count_publish", item_key=f"round_area:{round_area.pk}"
    )
    assert item.status == JobItemStatus.FAILING
    assert item.last_error.startswith("RecountMismatchError: recounting the generated")
    assert f"file funds ['{fountain}', " in item.last_error


# --- verify_result ------------------------------------------------------------------------


def test_verify_result_says_ok_after_publication(published):
    status, printed = run("verify_result", "spring")

    stored = stored_file(published["round_area"])
    assert status == 0, printed
    assert printed.startswith("OK: spring/area-a: 7 ballots;")
    assert stored.sha256 in printed
    # The round's id works too, and --area picks one area.
    assert run("verify_result", str(published["round"].pk), "--area", "area-a") == (0, printed)


def test_verify_result_says_not_ok_once_a_ballot_is_altered_in_the_database(published):
    proposals = published["proposals"]
    choice = BallotChoice.objects.get(ballot=published["ballots"][1], proposal=proposals["Lights"])
    # What someone with database access might do; no trigger guards ballot choices.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE voting_ballotchoice SET proposal_id = %s WHERE id = %s",
            [proposals["Fountain"].pk, choice.pk],
        )

    status, printed = run("verify_result", "spring")

    assert status == 1
    assert printed.startswith("NOT OK: spring/area-a: ")
    assert "1 ballot(s) only in the database, 1 only in the file" in printed


def test_verify_result_recounts_the_database_and_names_a_changed_winner(published):
    # Three Lights voters move to Fountain: the database's ballots now fund Fountain.
    proposals = published["proposals"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE voting_ballotchoice SET proposal_id = %s WHERE proposal_id = %s "
            "AND ballot_id IN (%s, %s, %s)",
            [
                proposals["Fountain"].pk,
                proposals["Lights"].pk,
                *(ballot.pk for ballot in published["ballots"][1:4]),
            ],
        )

    status, printed = run("verify_result", "spring", "--area", "area-a")

    assert status == 1
    assert "recounting the database's ballots by greedy funds" in printed
    assert "recounting the stored file" not in printed  # the file still recounts right


def test_verify_result_of_an_unknown_or_unpublished_round_says_so(election):
    with pytest.raises(CommandError, match="no round 'nope'"):
        run("verify_result", "nope")
    with pytest.raises(CommandError, match="No published result for round 'spring'"):
        run("verify_result", "spring")


# --- Results published before files were stored -------------------------------------------


def without_stored_file(round_area) -> None:
    """As for a result published before files were stored (triggers off for this only)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM voting_resultfile WHERE result_id = %s", [round_area.result.pk]
            )


def test_backfill_stores_the_missing_file_once_and_verify_result_says_no_stored_file_before(
    published, anonymous_client
):
    without_stored_file(published["round_area"])

    status, printed = run("verify_result", "spring")
    assert status == 1
    assert "NOT OK: spring/area-a: no stored file" in printed
    assert "result_files_backfill" in printed

    assert run("result_files_backfill") == (
        0,
        "Stored 1 new result file(s); 0 were already stored.\n",
    )
    assert run("result_files_backfill") == (
        0,
        "Stored 0 new result file(s); 1 were already stored.\n",
    )
    assert run("verify_result", "spring")[0] == 0
    stored = stored_file(published["round_area"])
    assert anonymous_client.get(area_url("area_results_pabulib")).content == stored.data


# --- The README's pabutools snippet ---------------------------------------------------------


def readme_recount_snippet() -> str:
    section = README.read_text().split("### Recount it yourself", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.parametrize("rule", [CountingRule.GREEDY, CountingRule.MES])
def test_the_readme_snippet_recounts_the_download_with_pabutools_alone(
    election, anonymous_client, tmp_path, rule, monkeypatch
):
    round_history_rewrite(election["round"], counting_rule=rule)
    result = count_and_publish(election["round_area"])
    download = tmp_path / "parks-2026-riverside-ballots.pb"
    download.write_bytes(anonymous_client.get(area_url("area_results_pabulib")).content)
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()

    with contextlib.redirect_stdout(printed):
        exec(readme_recount_snippet(), {})  # noqa: S102 - our own README's snippet

    winners = [
        line.proposal.pabulib_id
        for line in result.lines.filter(funded=True).order_by("selection_order")
    ]
    name = "Equal Shares" if rule == CountingRule.MES else "greedy"
    line = next(text for text in printed.getvalue().splitlines() if text.startswith(name))
    assert line == f"{name}: funds {winners} for {result.budget_used:f}".replace(".00", "")
