"""Jobs isolate failures: each item runs in its own transaction, a failure is recorded
(and survives the rollback of the work it describes) with a back-off, after 5 failures
the item waits for an officer, and the allocation job allocates every other proposal
when one fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ledgers import services as ledger_services
from ledgers.models import EntryKind, LedgerEntry
from ledgers.tasks import allocate_published_results
from pb_platform import jobs
from pb_platform.models import JobItem, JobItemEvent, JobItemEventKind, JobItemStatus
from pb_platform.policies import PolicyDenied
from proposals.models import Area
from tests.conftest import client_for
from tests.factories import AreaFactory
from tests.ledgers.conftest import published_round

JOB = "test.job"


def item(key: str, work, label: str = "") -> jobs.JobItemRun:
    return jobs.JobItemRun(key=key, label=label or f"Doing {key}", run=work)


def fail(message: str = "boom"):
    def work():
        raise ValueError(message)

    return work


def record(key: str) -> JobItem:
    return JobItem.objects.get(job=JOB, item_key=key)


# --- The runner --------------------------------------------------------------------------


def test_each_item_runs_and_a_failure_does_not_stop_the_others(db):
    now = timezone.now()

    run = jobs.run_items(
        job=JOB,
        items=[item("a", lambda: 1), item("b", fail()), item("c", lambda: 3)],
        now=now,
    )

    assert run.results == {"a": 1, "c": 3}
    assert run.failed == ["b"]
    failed = record("b")
    assert (failed.status, failed.attempts, failed.last_error) == (
        JobItemStatus.FAILING,
        1,
        "ValueError: boom",
    )
    assert failed.next_try_at == now + timedelta(minutes=1)
    # Items that never failed leave no record.
    assert list(JobItem.objects.values_list("item_key", flat=True)) == ["b"]


def test_the_failed_items_work_is_undone_but_its_failure_is_kept(db, area_a):
    def half_done():
        AreaFactory(name="Written before the error")
        raise RuntimeError("then it broke")

    jobs.run_items(job=JOB, items=[item("half", half_done)], now=timezone.now())

    assert not Area.objects.filter(name="Written before the error").exists()
    assert record("half").last_error == "RuntimeError: then it broke"
    assert record("half").events.get().kind == JobItemEventKind.FAILED


def test_inside_a_callers_transaction_the_item_is_a_savepoint(db):
    with transaction.atomic():
        jobs.run_items(
            job=JOB,
            items=[item("x", lambda: AreaFactory(name="Kept")), item("y", fail())],
            now=timezone.now(),
        )
    assert Area.objects.filter(name="Kept").exists()
    assert record("y").attempts == 1


def test_back_off_doubles_then_the_item_waits_for_an_officer(db):
    start = timezone.now()
    now = start
    waits = []
    for _attempt in range(5):
        jobs.run_items(job=JOB, items=[item("b", fail())], now=now)
        failure = record("b")
        if failure.next_try_at is not None:
            waits.append(failure.next_try_at - now)
            # Just before the back-off ends the item is skipped.
            skipped = jobs.run_items(
                job=JOB, items=[item("b", fail())], now=failure.next_try_at - timedelta(seconds=1)
            )
            assert skipped.skipped == ["b"]
            now = failure.next_try_at
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    failure = record("b")
    assert (failure.status, failure.attempts, failure.next_try_at) == (
        JobItemStatus.NEEDS_OFFICER,
        5,
        None,
    )
    assert failure.events.filter(kind=JobItemEventKind.FAILED).count() == 5

    ran = []
    later = jobs.run_items(
        job=JOB, items=[item("b", lambda: ran.append(1))], now=now + timedelta(days=30)
    )
    assert later.skipped == ["b"] and ran == []


def test_a_success_after_failures_clears_them(db):
    now = timezone.now()
    jobs.run_items(job=JOB, items=[item("b", fail())], now=now)

    jobs.run_items(job=JOB, items=[item("b", lambda: "done")], now=now + timedelta(minutes=1))

    cleared = record("b")
    assert (cleared.status, cleared.attempts, cleared.next_try_at) == (JobItemStatus.OK, 0, None)
    assert cleared.last_error == "ValueError: boom"  # kept for the history
    assert [e.kind for e in cleared.events.order_by("pk")] == ["failed", "succeeded"]


def test_the_error_shown_is_one_line_and_bounded(db):
    jobs.run_items(
        job=JOB, items=[item("b", fail("line one\nline two " + "x" * 900))], now=timezone.now()
    )

    error = record("b").last_error
    assert error.startswith("ValueError: line one line two x")
    assert "\n" not in error and len(error) == jobs.ERROR_MAX_LENGTH


# --- Retrying -------------------------------------------------------------------------------


def needing_officer() -> JobItem:
    now = timezone.now()
    for attempt in range(5):
        jobs.run_items(job=JOB, items=[item("b", fail())], now=now + timedelta(hours=attempt))
    return record("b")


def test_an_officers_retry_is_recorded_once_and_the_item_runs_next_time(db, officer):
    stuck = needing_officer()
    now = timezone.now() + timedelta(days=1)

    jobs.job_item_retry(officer=officer, item_id=stuck.pk, now=now)
    jobs.job_item_retry(officer=officer, item_id=stuck.pk, now=now)  # a double click

    retried = record("b")
    assert (retried.status, retried.attempts, retried.retried_by, retried.retried_at) == (
        JobItemStatus.FAILING,
        0,
        officer,
        now,
    )
    assert retried.events.filter(kind=JobItemEventKind.RETRIED, by=officer, at=now).count() == 1
    run = jobs.run_items(job=JOB, items=[item("b", lambda: "fixed")], now=now)
    assert run.results == {"b": "fixed"}
    assert record("b").status == JobItemStatus.OK


@pytest.mark.parametrize("persona", ["resident_a", "auditor"])
def test_only_officers_may_retry_in_the_service_too(db, persona, request):
    stuck = needing_officer()
    before = list(JobItem.objects.values()), list(JobItemEvent.objects.values())

    with pytest.raises(PolicyDenied):
        jobs.job_item_retry(
            officer=request.getfixturevalue(persona), item_id=stuck.pk, now=timezone.now()
        )

    assert (list(JobItem.objects.values()), list(JobItemEvent.objects.values())) == before


def test_retrying_an_unknown_item_is_404(officer):
    assert client_for(officer).post(reverse("job_item_retry", args=[999])).status_code == 404


def test_auditors_and_officers_see_who_retried_residents_do_not(db, officer, auditor, resident_a):
    stuck = needing_officer()
    client_for(officer).post(reverse("job_item_retry", args=[stuck.pk]))

    for persona in (officer, auditor):
        page = client_for(persona).get(reverse("job_history"))
        assert page.status_code == 200
        text = page.content.decode()
        assert "Retried by an officer" in text and officer.email in text
        assert "ValueError: boom" in text
    assert client_for(resident_a).get(reverse("job_history")).status_code == 403
    # Auditors see the history but get no Retry button.
    assert (
        'action="/officer/jobs/'
        not in client_for(auditor).get(reverse("job_history")).content.decode()
    )


# --- The allocation job -----------------------------------------------------------------


def test_one_allocation_failing_never_stops_the_others(db, area_a, area_b, monkeypatch):
    _parks, parks_proposals = published_round(area=area_a, name="Parks", allocate=False)
    _roads, roads_proposals = published_round(area=area_b, name="Roads", allocate=False)
    bad = parks_proposals["Trees"]  # the first winner of the first round
    append = ledger_services._append

    def broken_append(*, budget_round_id, entry):
        if entry.proposal_id == bad.pk:
            raise RuntimeError("ledger chain out of step")
        return append(budget_round_id=budget_round_id, entry=entry)

    monkeypatch.setattr(ledger_services, "_append", broken_append)

    assert allocate_published_results.apply().get() == 3

    allocated = set(
        LedgerEntry.objects.filter(kind=EntryKind.ALLOCATION).values_list("proposal_id", flat=True)
    )
    assert allocated == {
        parks_proposals["Benches"].pk,
        roads_proposals["Trees"].pk,
        roads_proposals["Benches"].pk,
    }
    failure = JobItem.objects.get(
        job="ledgers.allocate_published_results", item_key=f"proposal:{bad.pk}"
    )
    assert (failure.status, failure.attempts) == (JobItemStatus.FAILING, 1)
    assert failure.last_error == "RuntimeError: ledger chain out of step"
    assert failure.label == "Allocating “Trees” in Parks"
    assert failure.next_try_at > timezone.now()

    # Before its back-off it is skipped; once fixed and due, it is allocated once.
    assert allocate_published_results.apply().get() == 0
    assert failure.events.count() == 1
    monkeypatch.setattr(ledger_services, "_append", append)
    ledger_services.allocations_for_published_results(now=failure.next_try_at)
    assert LedgerEntry.objects.filter(kind=EntryKind.ALLOCATION, proposal=bad).count() == 1
    assert JobItem.objects.get(pk=failure.pk).status == JobItemStatus.OK


def test_a_database_error_in_one_item_leaves_the_connection_usable(db):
    """On PostgreSQL a failed statement aborts the transaction; the item's own savepoint
    or transaction is rolled back, so the failure and the next items are still written."""
    AreaFactory(name="Taken", slug="taken")

    def duplicate():
        AreaFactory(name="Taken again", slug="taken")

    run = jobs.run_items(
        job=JOB,
        items=[item("dup", duplicate), item("next", lambda: AreaFactory(name="After").pk)],
        now=timezone.now(),
    )

    assert run.failed == ["dup"] and "next" in run.results
    assert record("dup").last_error.startswith("IntegrityError")
    assert Area.objects.filter(name="After").exists()
