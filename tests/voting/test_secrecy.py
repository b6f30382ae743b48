"""The secret ballot: no page, export, email or Django admin screen shows a voter next to
their choices.

Given voters with names, emails and usernames found nowhere else, who chose proposals
whose titles are found nowhere else (online and on paper, in a round being voted on and
in a counted, published one), every page the superuser, an officer, an auditor and a
visitor can reach is fetched, and none may hold both a voter's identity and the title of
a proposal that voter chose.
"""

from __future__ import annotations

import io
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import timedelta
from html import unescape
from urllib.parse import quote, urljoin, urlsplit

import pytest
from django.contrib import admin
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pb_platform.models import OutboxEmail
from pb_platform.outbox import outbox_sweep
from pb_platform.roles import RESIDENT, role_grant
from proposals.models import Proposal, ProposalStatus, ResidentProfile
from proposals.phases import Phase
from tests.conftest import client_for
from tests.factories import (
    AreaFactory,
    BudgetRoundFactory,
    ProposalFactory,
    ResidentProfileFactory,
    RoundAreaFactory,
    UserFactory,
)
from voting.models import AreaResult, Ballot, BallotChoice
from voting.services.ballots import ballot_submit, paper_ballot_record
from voting.services.results import area_close_count_publish
from voting.tasks import explain_published_results

# Each voter's identity (name, email, username) and the titles of what they chose.
ONLINE_VOTER = ("Zebedee Quillfeather", "zq-7731@example.net", "zquill7731")
ONLINE_CHOICES = ("Floating kelp garden at Marrow Quay", "Glow-in-the-dark skate ramp")
PAPER_VOTER = ("Ottoline Vantablack", "ov-4410@example.net", "ovanta4410")
PAPER_CHOICES = ("Heated bus shelter on Tamsin Row",)
# Last round's voter, counted and published.
PAST_VOTER = ("Barnaby Fothergill", "bf-9902@example.net", "bfother9902")
PAST_CHOICES = ("Solar lanterns on Pelham Steps",)
SECRETS = [(ONLINE_VOTER, ONLINE_CHOICES), (PAPER_VOTER, PAPER_CHOICES), (PAST_VOTER, PAST_CHOICES)]

# So the test cannot pass by visiting next to nothing.
MIN_PAGES = {"admin": 200, "officer": 40, "auditor": 15, "visitor": 12}
PAGE_CAP = 1500
QUERY_VARIANTS = 8

SKIP_PREFIXES = ("/accounts/logout/", "/static/", "/media/", "/admin/logout/")
HREF = re.compile(r"""href=["']([^"'#]+)""")


def leaks(text: str) -> list[str]:
    """What in ``text`` ties a voter to a choice: "who + what" for each pair found."""
    text = unescape(text)
    found = []
    for identity, titles in SECRETS:
        shown = [part for part in identity if part.lower() in text.lower()]
        chosen = [title for title in titles if title.lower() in text.lower()]
        if shown and chosen:
            found.append(f"{shown[0]} + {chosen[0]}")
    return found


def make_voter(identity: tuple[str, str, str], area):
    name, email, username = identity
    user = UserFactory(email=email, username=username)
    ResidentProfileFactory(user=user, area=area, display_name=name)
    role_grant(user=user, role=RESIDENT)
    return user


def proposal(round_area, title: str):
    return ProposalFactory(
        budget_round=round_area.budget_round,
        round_area=round_area,
        status=ProposalStatus.FEASIBLE,
        title=title,
    )


@pytest.fixture
def ballots(officer, area_a, area_b):
    """A round being voted on (a home area and a council-wide one) and a published one."""
    now = timezone.now()
    voting = BudgetRoundFactory(phase=Phase.VOTING, slug="secret-now", name="Streets 2027")
    home = RoundAreaFactory(budget_round=voting, area=area_a)
    city = RoundAreaFactory(
        budget_round=voting, area=AreaFactory(name="Whole council", is_city_wide=True)
    )
    for round_area in (home, city):
        proposal(round_area, f"Unchosen idea for {round_area.area.name}")
    kelp, ramp = proposal(home, ONLINE_CHOICES[0]), proposal(city, ONLINE_CHOICES[1])
    shelter = proposal(home, PAPER_CHOICES[0])

    online = make_voter(ONLINE_VOTER, area_a)
    ballot_submit(voter=online, round_area=home, proposal_ids=[kelp.pk], now=now)
    ballot_submit(voter=online, round_area=city, proposal_ids=[ramp.pk], now=now)
    on_paper = make_voter(PAPER_VOTER, area_a)
    paper_ballot_record(
        officer=officer, voter=on_paper, round_area=home, proposal_ids=[shelter.pk], now=now
    )

    past = BudgetRoundFactory(phase=Phase.RESULTS, slug="secret-past", name="Streets 2026")
    past_area = RoundAreaFactory(budget_round=past, area=area_b)
    lanterns = proposal(past_area, PAST_CHOICES[0])
    proposal(past_area, "Unchosen idea from last year")
    ballot_submit(
        voter=make_voter(PAST_VOTER, area_b),
        round_area=past_area,
        proposal_ids=[lanterns.pk],
        now=past.voting_ends - timedelta(hours=1),
    )
    assert area_close_count_publish(round_area_id=past_area.pk, now=now) is not None
    # Explained too, so the crawl covers the proposal pages' "why it won or lost".
    assert explain_published_results() == 1
    return {"voting": voting, "past": past, "home": home, "city": city, "past_area": past_area}


# --- Crawling ---------------------------------------------------------------------------


def crawl(
    client: Client, start: Iterable[str], *, follow: Callable[[str], bool]
) -> tuple[dict[str, list[str]], set[str]]:
    """Fetch every page reachable by links from ``start`` (and redirects) that ``follow``
    allows; returns the leaks found per URL and the pages that answered 200."""
    queue, seen = deque(start), set(start)
    variants: Counter[str] = Counter()
    found: dict[str, list[str]] = {}
    pages: set[str] = set()
    while queue and len(seen) <= PAGE_CAP:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code in (301, 302):
            links = [response.url]
        elif response.status_code == 200:
            # Exports stream; read them whole too.
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            body = raw.decode(errors="replace")
            pages.add(url)
            if problems := leaks(body):
                found[url] = problems
            content_type = response.get("Content-Type", "")
            links = HREF.findall(body) if content_type.startswith("text/html") else []
        else:
            continue
        for href in links:
            target = urljoin(url, unescape(href))
            parts = urlsplit(target)
            if parts.netloc not in ("", "testserver"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in seen or not follow(target) or target.startswith(SKIP_PREFIXES):
                continue
            # Sorting and filtering a list multiply its URLs: a few of each list will do.
            if parts.query:
                if variants[parts.path] >= QUERY_VARIANTS:
                    continue
                variants[parts.path] += 1
            seen.add(target)
            queue.append(target)
    assert len(seen) <= PAGE_CAP, "the crawl hit its cap; raise PAGE_CAP"
    return found, pages


def admin_urls() -> list[str]:
    """The index and, for every registered model, its list, add page, and the change,
    history and delete pages of every object (delete pages list related objects)."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        urls.append(reverse("admin:app_list", args=[model._meta.app_label]))
        # Every row, whatever the admin's own list would filter out.
        for obj in model._default_manager.all():
            for page in ("change", "history", "delete"):
                urls.append(reverse(f"{prefix}_{page}", args=[obj.pk]))
    return list(dict.fromkeys(urls))


# --- The tests --------------------------------------------------------------------------


def test_ballots_and_their_choices_are_not_in_the_admin():
    registered = set(admin.site._registry)
    assert Ballot not in registered
    assert BallotChoice not in registered


def test_no_admin_screen_shows_a_voter_next_to_their_choices(ballots):
    superuser = UserFactory(is_superuser=True, is_staff=True)

    found, pages = crawl(
        client_for(superuser), admin_urls(), follow=lambda url: url.startswith("/admin/")
    )

    assert found == {}
    assert len(pages) >= MIN_PAGES["admin"], f"only {len(pages)} admin pages answered"
    # The screens that do show each voter were among them.
    for profile in voter_profiles():
        assert reverse("admin:proposals_residentprofile_change", args=[profile.pk]) in pages
        user_admin = f"admin:{profile.user._meta.app_label}_{profile.user._meta.model_name}"
        assert reverse(f"{user_admin}_change", args=[profile.user_id]) in pages


def voter_profiles() -> list[ResidentProfile]:
    emails = [identity[1] for identity, _titles in SECRETS]
    return list(ResidentProfile.objects.filter(user__email__in=emails).select_related("user"))


def chosen_proposal_urls() -> set[str]:
    titles = [title for _identity, chosen in SECRETS for title in chosen]
    return {p.get_absolute_url() for p in Proposal.objects.filter(title__in=titles)}


def officer_start_urls(ballots) -> list[str]:
    """The voting officer pages for every voter: the search, their ballot for each area
    (an "already voted" page), and the receipt of the paper ballot."""
    voting = ballots["voting"]
    voters_url = reverse("voting:paper_voters", args=[voting.slug])
    urls = [voters_url, reverse("voting:walk_in", args=[voting.slug])]
    for profile in voter_profiles():
        urls += [
            f"{voters_url}?q={quote(profile.user.email)}",
            f"{voters_url}?q={quote(profile.display_name)}",
        ]
        for round_area in (ballots["home"], ballots["city"]):
            urls.append(
                reverse("voting:paper_ballot", args=[voting.slug, profile.pk, round_area.area.slug])
            )
    for ballot in Ballot.objects.filter(round_area__budget_round=voting, channel="paper"):
        urls.append(reverse("voting:paper_ballot_done", args=[voting.slug, ballot.pk]))
    return urls


@pytest.mark.parametrize("persona", ["officer", "auditor", "visitor"])
def test_no_page_shows_a_voter_next_to_their_choices(persona, request, ballots):
    voting, past = ballots["voting"], ballots["past"]
    start = ["/", reverse("proposals:round_list")]
    for budget_round in (voting, past):
        start += [
            budget_round.get_absolute_url(),
            reverse("proposals:round_proposals", args=[budget_round.slug]),
        ]
    must_reach = set(start) | chosen_proposal_urls()
    if persona != "visitor":
        turnout = [reverse("voting:turnout", args=[r.slug]) for r in (voting, past)]
        start += ["/officer/", "/audit/", *turnout]
        must_reach |= set(turnout)
    if persona == "officer":
        start += officer_start_urls(ballots)
        must_reach |= {*start, reverse("proposals:officer_residents")} - {"/audit/"}
    if persona == "auditor":
        must_reach.add("/audit/")
    client = Client() if persona == "visitor" else client_for(request.getfixturevalue(persona))

    found, pages = crawl(
        client, list(dict.fromkeys(start)), follow=lambda url: not url.startswith("/admin/")
    )

    assert found == {}
    assert len(pages) >= MIN_PAGES[persona], f"{persona}: only {len(pages)} pages answered"
    assert must_reach <= pages, f"{persona} did not reach {sorted(must_reach - pages)}"


def test_the_pabulib_export_is_anonymous(ballots):
    for round_area in (ballots["home"], ballots["city"], ballots["past_area"]):
        out = io.StringIO()
        call_command(
            "export_pabulib",
            round_area.budget_round.pk,
            "--area",
            round_area.area.slug,
            stdout=out,
        )
        text = out.getvalue()
        assert leaks(text) == []
        # Not vacuous: the export does name what was chosen.
        assert any(title in text for _identity, titles in SECRETS for title in titles)


def test_receipt_emails_do_not_say_what_was_chosen(ballots):
    # The ballots' services queued one receipt per ballot with an address; send them all.
    assert outbox_sweep(now=timezone.now()) == 4
    assert len(mail.outbox) == 4
    for message in mail.outbox:
        assert leaks(f"{message.to} {message.subject} {message.body}") == []
    # Nor does the queue itself: it holds ids and flags, never choices.
    for item in OutboxEmail.objects.all():
        assert leaks(f"{item.params} {item.template_name}") == []


def test_the_fixture_really_has_a_published_result(ballots):
    """The crawl above only proves something if the results exist to be shown."""
    assert AreaResult.objects.filter(
        round_area=ballots["past_area"], published_at__isnull=False
    ).exists()


def test_the_voter_alone_sees_what_their_ballot_paid_for(ballots):
    """Their own page shows their funded choices; the crawl above, as every other role,
    found them nowhere (the explanations are stored before it runs)."""
    past_voter = ResidentProfile.objects.get(display_name=PAST_VOTER[0]).user
    page = client_for(past_voter).get(reverse("voting:my_ballots")).content.decode()
    assert "What your ballot paid for" in page
    assert PAST_CHOICES[0] in page
    online_voter = ResidentProfile.objects.get(display_name=ONLINE_VOTER[0]).user
    other = client_for(online_voter).get(reverse("voting:my_ballots")).content.decode()
    assert PAST_CHOICES[0] not in other  # someone else's choices, never
