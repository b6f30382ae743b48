"""The loop in Polish, in a browser set to Polish: sign up (a mistake first), propose (a
mistake first), vote (over the budget first, the live total in Polish), see the results
and where the money went. Every page is checked as in every journey (axe, reflow, the
policy) and, the person's language not being the site's, for ``<html lang="pl">`` and
any English word outside what people typed (``Journey._check_language``).

The round counts in złoty, so money reads "25 000,00 zł".
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail

from ledgers.tasks import allocate_published_results
from proposals.models import Area, Proposal, ProposalStatus
from proposals.phases import Phase
from proposals.tasks import advance_round_phases
from tests.factories import AreaFactory, BudgetRoundFactory, ProposalFactory, RoundAreaFactory
from tests.journeys.conftest import PHONE, beat, round_move_to
from voting.tasks import close_count_publish

pytestmark = pytest.mark.browser

PASSWORD = "dużo-słów-w-haśle-2027"
LAWKI = "Ławki w parku Jordana"
DRZEWA = "Drzewa na ulicy Młyńskiej"
STOJAKI = "Stojaki rowerowe przy bibliotece"


@pytest.fixture
def polish_town(live_site) -> dict[str, object]:
    """A round taking proposals in PLN, with two feasible proposals already in."""
    area: Area = AreaFactory(name="Śródmieście", slug="srodmiescie", population=12000)
    budget_round = BudgetRoundFactory(
        name="Budżet obywatelski 2027",
        slug="bo-2027",
        description="Zgłoś pomysł na swoją okolicę.",
        currency="PLN",
        phase=Phase.SUBMISSION,
        counting_rule="greedy",
    )
    round_area = RoundAreaFactory(budget_round=budget_round, area=area, budget=Decimal("40000"))
    for title, cost in ((DRZEWA, "25000"), (LAWKI, "20000")):
        ProposalFactory(
            budget_round=budget_round,
            round_area=round_area,
            title=title,
            description="Opis projektu.",
            estimated_cost=Decimal(cost),
            status=ProposalStatus.FEASIBLE,
        )
    return {"round": budget_round, "area": area}


def test_the_loop_in_polish(trip, polish_town):
    budget_round = polish_town["round"]
    ola = trip.journey("ola", viewport=PHONE, language="pl")
    t = ola.t
    page = ola.page

    # 1. Sign up: passwords that differ are refused in Polish, then the account is made,
    # and the confirmation email is in Polish.
    ola.visit("/", "strona-glowna")
    ola.link(t("Create an account"), "zaloz-konto")
    page.get_by_label(t("Email")).fill("ola@example.org")
    page.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(re.compile("^" + re.escape(t("Password (again)")))).fill("inne-haslo-2027")
    page.get_by_label(t("Your name")).fill("Ola Nowak")
    page.get_by_label(t("The area you live in")).select_option(label="Śródmieście")
    ola.press(t("Sign Up"), "hasla-rozne")
    assert page.get_by_role("alert").count() or "error" in page.content()
    page.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(re.compile("^" + re.escape(t("Password (again)")))).fill(PASSWORD)
    ola.press(t("Sign Up"), "potwierdz-email")
    [email] = [m for m in mail.outbox if m.to == ["ola@example.org"]]
    assert t("Please Confirm Your Email Address") in email.subject
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", email.body)
    assert link, email.body
    ola.visit(link.group(1), "link-z-emaila")
    ola.press(t("Confirm"), "email-potwierdzony")
    ola.sign_in("ola@example.org", PASSWORD)

    # 2. A proposal: sent empty, each field says what is missing; then submitted.
    round_path = budget_round.get_absolute_url()
    ola.visit(round_path, "edycja")
    ola.link(t("Suggest an idea"), "formularz-projektu")
    ola.press(t("Submit for review"), "projekt-bledy")
    assert page.get_by_role("alert").count() == 1
    page.get_by_label(t("Title"), exact=True).fill(STOJAKI)
    page.get_by_label(t("Describe your idea")).fill("Dziesięć stojaków przy bibliotece.")
    page.get_by_label(t("What do you think it would cost?")).fill("4000,50")
    ola.press(t("Submit for review"), "projekt-zgloszony")
    mine = Proposal.objects.get(title=STOJAKI)
    assert mine.estimated_cost == Decimal("4000.50")  # typed with a decimal comma
    Proposal.objects.filter(pk=mine.pk).update(
        status=ProposalStatus.FEASIBLE, official_cost=Decimal("4000.50")
    )

    # 3. Voting: over the budget first (the live total and the server both say so in
    # Polish), then a vote within it.
    round_move_to(budget_round, Phase.VOTING)
    beat(advance_round_phases)
    ola.visit(round_path, "glosowanie")
    ola.link(t("Vote"), "glosuj")
    vote_here = t('Vote<span class="visually-hidden"> for %(area)s</span>')
    ola.link(re.sub("<[^>]+>", "", vote_here % {"area": "Śródmieście"}), "karta")
    page.get_by_role("checkbox", name=re.compile(DRZEWA)).check()
    page.get_by_role("checkbox", name=re.compile(LAWKI)).check()
    live_total = page.locator("#ballot-total").inner_text()
    assert "45\u00a0000,00\u00a0zł" in live_total.replace(" ", "\u00a0"), live_total
    ola.press(t("Check my total"), "ponad-budzet")
    page.get_by_role("checkbox", name=re.compile(LAWKI)).uncheck()
    page.get_by_role("checkbox", name=re.compile(STOJAKI)).check()
    ola.press(t("Save my vote"), "potwierdzenie")

    # 4. Results and the money, in złoty and in Polish.
    round_move_to(budget_round, Phase.RESULTS)
    beat(advance_round_phases)
    assert beat(close_count_publish) == 1
    assert beat(allocate_published_results) == 2
    ola.visit(round_path, "wyniki-edycji")
    ola.link(t("See the results"), "wyniki")
    ola.link("Śródmieście", "wyniki-obszaru")
    assert "25\u00a0000,00\u00a0zł" in ola.text()
    ola.visit(f"{round_path}money/", "na-co-poszly-pieniadze")
    assert "4000,50\u00a0zł".replace("4000", "4\u00a0000") in ola.text()
    ola.link(DRZEWA, "projekt-sfinansowany")
    trip.finish()
