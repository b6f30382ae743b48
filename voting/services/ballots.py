"""Casting ballots: online by residents, on paper by officers for residents they assist.

Who may vote where and when is ``voting.policies`` (``can_vote``,
``can_record_paper_ballot``, ``can_register_walk_in``): every service here enforces it,
whoever calls, against the clock (``now``) and, inside the transaction that writes, the
locked rows:

- a ballot is accepted only while the round is in its voting phase and its area has not
  been closed by the count, even if the close job has not run yet;
- a resident votes in their home area and in any area covering the whole council;
- the choices must be proposals on that area's ballot, within the area's budget
  (approval within budget) or at most k of them (k-approval);
- one ballot per person per area, whatever the channel: a unique constraint in the
  database guarantees it; an online voter may change their ballot until voting closes
  (the last one counts), a paper ballot is final.

Counting waits for ballots being written: each ballot transaction holds a shared lock on
its area's row, which the close job's claim (an UPDATE of that row) must wait for.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pb_platform.dates import EARLIEST_YEAR
from pb_platform.money import money_format
from pb_platform.policies import ALLOW, Decision, PolicyDenied, deny, enforce, first_denial
from pb_platform.text import text_clean
from pb_platform.users import AnyUser, User, signed_in
from proposals.models import (
    Area,
    BallotType,
    BudgetRound,
    EligibilityMethod,
    Proposal,
    RegisterEntry,
    ResidentProfile,
    RoundArea,
    VerificationRequired,
)
from proposals.services.register import dob_hash, reference_hash
from voting import policies
from voting.models import EQUALITY_ANSWERS, Ballot, BallotChannel, BallotChoice, EqualityTally
from voting.selectors import VOTER_BALLOT_COLUMNS, area_ballot_proposals, stored_ballot
from voting.services.receipts import receipt_enqueue

logger = logging.getLogger(__name__)

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)


def receipt_code_new() -> str:
    """A random code a voter can look for in the published list: 16 characters (80 bits)
    in groups of four."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _lock_area_for_voting(round_area: RoundArea) -> None:
    """Hold a shared lock on the area's row until the transaction ends, so the close
    job's claim waits for this ballot; refreshes ``voting_closed_at`` from the row.

    SQLite (development only) has no row locks; its single writer serialises instead.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT voting_closed_at FROM proposals_roundarea WHERE id = %s FOR SHARE",
                [round_area.pk],
            )
            round_area.voting_closed_at = cursor.fetchone()[0]
    else:
        round_area.voting_closed_at = RoundArea.objects.values_list(
            "voting_closed_at", flat=True
        ).get(pk=round_area.pk)


def _lock_voter(voter: User) -> ResidentProfile | None:
    """The voter's profile, locked until the transaction ends: an officer's change of
    their home area (which locks the same row) waits for the ballot, or the ballot for
    it, so the ballot is judged against the area that holds when it is written."""
    profile = (
        ResidentProfile.objects.select_for_update(of=("self",))
        .select_related("area", "pending_area")
        .filter(user=voter)
        .first()
    )
    return profile


def _voted_in_another_home_area(voter: User, round_area: RoundArea) -> Decision:
    """A second line of defence behind pending moves: whatever happened to the profile
    (an edit in the admin, data from before this rule), nobody gets ballots for two
    home areas of one round."""
    if round_area.area.is_city_wide:
        return ALLOW
    other = (
        Ballot.objects.filter(voter=voter, round_area__budget_round_id=round_area.budget_round_id)
        .exclude(round_area=round_area)
        .filter(round_area__area__is_city_wide=False)
        .select_related("round_area__area")
        .order_by("pk")
        .first()
    )
    return _another_home_area(other.round_area.area.name if other else None, round_area)


def _another_home_area(other: str | None, round_area: RoundArea) -> Decision:
    """The refusal when this person has a ballot for ``other``, another home area."""
    if other is None or round_area.area.is_city_wide:
        return ALLOW
    return deny(
        _(
            "A ballot for %(other)s in this round is already recorded for this person, so "
            "there cannot also be one for %(area)s. Each person votes for one home area."
        )
        % {"other": other, "area": round_area.area.name}
    )


def ballot_choices_check(
    *,
    round_area: RoundArea,
    proposal_ids: Collection[int],
    on_ballot: Sequence[Proposal] | None = None,
) -> list[Proposal]:
    """The chosen proposals, or a ValidationError saying plainly what is wrong.
    ``on_ballot``: the area's ballot (``area_ballot_proposals``) if the caller has it."""
    chosen_ids = set(proposal_ids)
    if not chosen_ids:
        raise ValidationError(_("Choose at least one proposal."))
    if on_ballot is None:
        on_ballot = area_ballot_proposals(round_area=round_area)
    by_id = {proposal.pk: proposal for proposal in on_ballot}
    if not chosen_ids <= by_id.keys():
        raise ValidationError(
            _(
                "Some of your choices are not on the ballot for %(area)s (they may have been "
                "withdrawn or belong to another area). Please choose again from the list."
            )
            % {"area": round_area.area.name}
        )
    chosen = [by_id[pk] for pk in sorted(chosen_ids)]
    budget_round = round_area.budget_round
    limit = budget_round.max_choices
    if limit and len(chosen) > limit:
        raise ValidationError(
            ngettext(
                "You chose %(count)d proposals; you may choose up to %(limit)d proposal.",
                "You chose %(count)d proposals; you may choose up to %(limit)d proposals.",
                limit,
            )
            % {"count": len(chosen), "limit": limit}
        )
    if budget_round.ballot_type == BallotType.APPROVAL_WITHIN_BUDGET:
        total = sum((proposal.official_cost for proposal in chosen), Decimal(0))
        if total > round_area.budget:
            currency = budget_round.currency
            raise ValidationError(
                _(
                    "Your choices cost %(total)s, which is %(over)s more than the %(budget)s "
                    "available for %(area)s. Untick some proposals and try again."
                )
                % {
                    "total": money_format(total, currency),
                    "over": money_format(total - round_area.budget, currency),
                    "budget": money_format(round_area.budget, currency),
                    "area": round_area.area.name,
                }
            )
    return chosen


def _choices_replace(ballot: Ballot, chosen: list[Proposal]) -> None:
    BallotChoice.objects.filter(ballot=ballot).delete()
    BallotChoice.objects.bulk_create(
        BallotChoice(ballot=ballot, proposal=proposal) for proposal in chosen
    )


def _equality_answers(equality: Mapping[str, str]) -> dict[str, str]:
    """The answers, each checked against its question's, or ``ValidationError`` on the
    question's field (``equality_<question>``)."""
    errors = {
        f"equality_{question}": [_("Choose one of the answers, or none.")]
        for question, answer in equality.items()
        if answer not in dict(EQUALITY_ANSWERS.get(question, []))
    }
    if errors:
        raise ValidationError(errors)
    return dict(equality)


def _equality_count(budget_round_id: int, answers: Mapping[str, str]) -> None:
    """Add one to the count of each answer given. Only counts are stored: no row per
    voter, no time, nothing to join to the ballot (two statements: the rows are made if
    missing, then added to, so concurrent first ballots never clash on creating one)."""
    if not answers:
        return
    EqualityTally.objects.bulk_create(
        [
            EqualityTally(budget_round_id=budget_round_id, question=question, answer=answer)
            for question, answer in answers.items()
        ],
        ignore_conflicts=True,
    )
    given = Q()
    for question, answer in answers.items():
        given |= Q(question=question, answer=answer)
    EqualityTally.objects.filter(given, budget_round_id=budget_round_id).update(
        count=F("count") + 1
    )


def ballot_submit(
    *,
    voter: User,
    round_area: RoundArea,
    proposal_ids: Collection[int],
    now: datetime,
    age_declared: bool = False,
    equality: Mapping[str, str] | None = None,
    on_ballot: Sequence[Proposal] | None = None,
) -> Ballot:
    """Cast or change the voter's online ballot for an area. The last one counts.

    ``equality``: the optional equality questions the voter answered (question ->
    answer), counted with a first ballot in a round that asks them and never stored
    with it (``_equality_count``); ignored when a ballot is changed. ``on_ballot``: the
    area's ballot, if the caller has just read it.

    ``voting.policies.can_vote`` decides, once before the choices are checked (so a
    person who may not vote hears that, not a complaint about their choices) and again
    under the locks, against the stored state: the area's closing and the voter's area.

    Safe under concurrent submissions by the same voter: the profile's row lock
    serialises them (and the unique constraint would let only one insert win), so the
    stored choices are exactly one of the submitted sets.

    This is the round's busiest write (every resident, often in the last evening), so it
    is kept to five statements in its transaction (BEGIN, one read that locks, one write,
    the receipt's outbox row, COMMIT) once ``selectors.ballot_voter`` has read the voter.
    """
    enforce(policies.can_vote(voter, round_area, now=now, age_declared=age_declared))
    chosen = ballot_choices_check(
        round_area=round_area, proposal_ids=proposal_ids, on_ballot=on_ballot
    )
    answers = _equality_answers(equality or {})
    with transaction.atomic():
        locked = _online_lock(voter, round_area)
        enforce(
            first_denial(
                policies.can_vote(
                    voter, round_area, now=now, ballot=locked.ballot, age_declared=age_declared
                ),
                locked.elsewhere,
            )
        )
        ballot = _online_write(
            voter, round_area, locked.ballot, [p.pk for p in chosen], now, age_declared
        )
        if ballot is None:
            # Refused by what a writer the lock waited for stored: say why, from a
            # fresh read (this rolls the transaction back).
            fresh = _online_lock_portable(voter, round_area)
            enforce(
                first_denial(
                    policies.can_vote(voter, round_area, now=now, ballot=fresh.ballot),
                    fresh.elsewhere,
                )
            )
            raise AssertionError("the ballot was refused with no reason the policies know")
        if ballot.cast_at == now and round_area.budget_round.asks_equality_questions:
            _equality_count(round_area.budget_round_id, answers)  # a first ballot
        _receipt_email_after_commit(ballot)
    return ballot


@dataclass(frozen=True)
class _Locked:
    ballot: Ballot | None  # the voter's ballot for the area, as stored
    elsewhere: Decision  # _voted_in_another_home_area's answer


# The profile's columns the policies judge a ballot by: if a concurrent change (an
# officer moving the resident) altered one, the profile is read again in full.
_JUDGED = (
    "area_id",
    "pending_area_id",
    "pending_since",
    "eligibility_verified_at",
    "eligibility_method",
    "date_of_birth",
)


def _online_lock(voter: User, round_area: RoundArea) -> _Locked:
    """In one statement: lock the voter's profile (as ``_lock_voter``) and share-lock the
    area's row (as ``_lock_area_for_voting``), and read what the policies must judge
    under those locks: the profile's judged columns, the area's closing, the voter's
    ballot here and any ballot for another home area of the round.

    Other databases (SQLite, for development) read the same with the ORM."""
    if connection.vendor != "postgresql":
        return _online_lock_portable(voter, round_area)
    profile_table = ResidentProfile._meta.db_table
    ballot_table = Ballot._meta.db_table
    area_table = Area._meta.db_table
    round_area_table = RoundArea._meta.db_table
    judged = ", ".join(f"p.{column}" for column in _JUDGED)
    ballot_columns = ", ".join(f"b.{column}" for column in VOTER_BALLOT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {judged}, ra.voting_closed_at, {ballot_columns},
                   (SELECT a.name FROM {ballot_table} o
                      JOIN {round_area_table} ora ON ora.id = o.round_area_id
                      JOIN {area_table} a ON a.id = ora.area_id
                     WHERE o.voter_id = p.user_id
                       AND ora.budget_round_id = ra.budget_round_id
                       AND o.round_area_id <> ra.id
                       AND NOT a.is_city_wide
                     ORDER BY o.id LIMIT 1)
              FROM {profile_table} p
              JOIN {round_area_table} ra ON ra.id = %s
              LEFT JOIN {ballot_table} b ON b.round_area_id = ra.id AND b.voter_id = p.user_id
             WHERE p.user_id = %s
               FOR UPDATE OF p FOR SHARE OF ra
            """,  # noqa: S608 (table names from the models; values are parameters)
            [round_area.pk, voter.pk],
        )
        row = cursor.fetchone()
    if row is None:  # no profile: can_vote refuses before this; nothing to lock
        return _Locked(None, ALLOW)
    judged_values = row[: len(_JUDGED)]
    round_area.voting_closed_at = row[len(_JUDGED)]
    ballot_values = row[len(_JUDGED) + 1 : len(_JUDGED) + 1 + len(VOTER_BALLOT_COLUMNS)]
    other_area = row[-1]
    _profile_refresh(voter, dict(zip(_JUDGED, judged_values, strict=True)))
    ballot = None
    if ballot_values[0] is not None:
        columns = dict(zip(VOTER_BALLOT_COLUMNS, ballot_values, strict=True))
        ballot = stored_ballot(round_area=round_area, voter=voter, **columns)
    return _Locked(ballot, _another_home_area(other_area, round_area))


def _online_lock_portable(voter: User, round_area: RoundArea) -> _Locked:
    profile = _lock_voter(voter)
    if profile is not None:
        voter.resident_profile = profile
    _lock_area_for_voting(round_area)
    ballot = Ballot.objects.filter(round_area=round_area, voter=voter).first()
    return _Locked(ballot, _voted_in_another_home_area(voter, round_area))


def _profile_refresh(voter: User, stored: dict[str, object]) -> None:
    """Judge the ballot by the locked row: if it differs from the profile read before,
    read the profile again (areas and all)."""
    profile = getattr(voter, "resident_profile", None)
    if profile is not None and all(getattr(profile, k) == v for k, v in stored.items()):
        return
    fresh = ResidentProfile.objects.select_related("area", "pending_area").filter(user=voter)
    voter.resident_profile = fresh.first()


def _online_write(
    voter: User,
    round_area: RoundArea,
    existing: Ballot | None,
    chosen: list[int],
    now: datetime,
    age_declared: bool,
) -> Ballot | None:
    """Store the ballot and its choices; None if the stored state, read afresh, refuses
    it (a paper ballot recorded here, or a ballot for another home area, since the
    voter's row was locked: the locking read's snapshot can predate a writer it waited
    for). On PostgreSQL one statement does it all: an insert that becomes an update of
    the voter's online ballot if there is one, the removed choices deleted and the added
    ones inserted."""
    if connection.vendor != "postgresql":
        return _online_write_portable(voter, round_area, existing, chosen, now, age_declared)
    ballot_table, choice_table = Ballot._meta.db_table, BallotChoice._meta.db_table
    round_area_table, area_table = RoundArea._meta.db_table, Area._meta.db_table
    # A whole-council area takes a ballot whatever else the person voted for.
    one_home_area = (
        ""
        if round_area.area.is_city_wide
        else f"""WHERE NOT EXISTS (
                SELECT 1 FROM {ballot_table} o
                  JOIN {round_area_table} ora ON ora.id = o.round_area_id
                  JOIN {area_table} a ON a.id = ora.area_id
                 WHERE o.voter_id = %(voter)s AND ora.budget_round_id = %(round)s
                   AND o.round_area_id <> %(area)s AND NOT a.is_city_wide)"""  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH saved AS (
                INSERT INTO {ballot_table} AS b (round_area_id, voter_id, channel,
                    receipt_code, cast_at, changed_at, age_declared)
                SELECT %(area)s, %(voter)s, %(online)s, %(code)s, %(now)s, %(now)s, %(age)s
                {one_home_area}
                ON CONFLICT (round_area_id, voter_id) DO UPDATE
                   SET changed_at = EXCLUDED.changed_at,
                       age_declared = b.age_declared OR EXCLUDED.age_declared
                 WHERE b.channel = %(online)s
                RETURNING b.id, b.cast_at, b.receipt_code, b.age_declared),
            removed AS (
                DELETE FROM {choice_table}
                 WHERE ballot_id IN (SELECT id FROM saved)
                   AND NOT (proposal_id = ANY(%(chosen)s::bigint[]))),
            added AS (
                INSERT INTO {choice_table} (ballot_id, proposal_id)
                SELECT saved.id, chosen FROM saved, unnest(%(chosen)s::bigint[]) chosen
                ON CONFLICT (ballot_id, proposal_id) DO NOTHING)
            SELECT id, cast_at, receipt_code, age_declared FROM saved
            """,  # noqa: S608 (table names from the models; values are parameters)
            {
                "area": round_area.pk,
                "voter": voter.pk,
                "round": round_area.budget_round_id,
                "online": BallotChannel.ONLINE.value,
                "code": receipt_code_new(),
                "now": now,
                "age": age_declared,
                "chosen": chosen,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    ballot_id, cast_at, receipt_code, stored_age = row
    return stored_ballot(
        round_area=round_area,
        voter=voter,
        id=ballot_id,
        channel=BallotChannel.ONLINE,
        receipt_code=receipt_code,
        cast_at=cast_at,
        changed_at=now,
        age_declared=stored_age,
    )


def _online_write_portable(
    voter: User,
    round_area: RoundArea,
    existing: Ballot | None,
    chosen: list[int],
    now: datetime,
    age_declared: bool,
) -> Ballot:
    """The same with the ORM, for other databases (SQLite, in development), where one
    writer at a time and the reads under ``_online_lock_portable`` suffice."""
    if existing is None:
        ballot = Ballot.objects.create(
            round_area=round_area,
            voter=voter,
            channel=BallotChannel.ONLINE,
            receipt_code=receipt_code_new(),
            cast_at=now,
            changed_at=now,
            age_declared=age_declared,
        )
    else:
        ballot = existing
        ballot.changed_at = now
        ballot.age_declared = ballot.age_declared or age_declared
        ballot.save(update_fields=["changed_at", "age_declared"])
    _choices_replace(ballot, [Proposal(pk=pk) for pk in chosen])
    return ballot


def paper_ballot_record(
    *,
    officer: AnyUser,
    voter: User,
    round_area: RoundArea,
    proposal_ids: Collection[int],
    now: datetime,
    age_declared: bool = False,
) -> Ballot:
    """Record a paper (or assisted) ballot an officer took for a resident. Final: a
    person who already has a ballot for the area, online or on paper, is refused
    (``voting.policies.can_record_paper_ballot``, checked before and under the locks)."""
    voter_profile = (
        ResidentProfile.objects.select_related("area", "pending_area").filter(user=voter).first()
    )
    if voter_profile is None:
        raise PolicyDenied(
            first_denial(
                policies.polling_officer(officer), deny(_("Only registered residents can vote."))
            )
        )
    existing = Ballot.objects.filter(round_area=round_area, voter=voter).first()
    enforce(
        policies.can_record_paper_ballot(
            officer,
            voter_profile,
            round_area,
            now=now,
            existing_ballot=existing,
            age_declared=age_declared,
        )
    )
    chosen = ballot_choices_check(round_area=round_area, proposal_ids=proposal_ids)
    try:
        with transaction.atomic():
            voter_profile = _lock_voter(voter) or voter_profile
            _lock_area_for_voting(round_area)
            existing = Ballot.objects.filter(round_area=round_area, voter=voter).first()
            enforce(
                first_denial(
                    policies.can_record_paper_ballot(
                        officer,
                        voter_profile,
                        round_area,
                        now=now,
                        existing_ballot=existing,
                        age_declared=age_declared,
                    ),
                    _voted_in_another_home_area(voter, round_area),
                )
            )
            ballot = Ballot.objects.create(
                round_area=round_area,
                voter=voter,
                channel=BallotChannel.PAPER,
                recorded_by=signed_in(officer),
                receipt_code=receipt_code_new(),
                cast_at=now,
                changed_at=now,
                age_declared=age_declared,
            )
            _choices_replace(ballot, chosen)
            # Walk-in voters have no email: nothing is queued; the officer hands it over.
            _receipt_email_after_commit(ballot)
    except IntegrityError:
        # The voter's own online ballot (or a colleague's entry) arrived in the meantime.
        existing = Ballot.objects.filter(round_area=round_area, voter=voter).first()
        enforce(
            policies.can_record_paper_ballot(
                officer, voter_profile, round_area, now=now, existing_ballot=existing
            )
        )
        raise
    return ballot


WALK_IN_NAME_MAX = 80


def _walk_in_register_entry(
    *, reference: str, date_of_birth: date, area: Area, budget_round: BudgetRound | None
) -> RegisterEntry:
    """The register entry of a walk-in voter, locked, or a ValidationError saying why it
    cannot be theirs. Matched like a resident's own check (reference and date of birth),
    so one entry stands for one person whatever the channel: an entry already linked to
    an account is refused (and said to have voted when that account voted in the round),
    so nobody votes once online and again on paper, even after a change of area."""
    entry = (
        RegisterEntry.objects.select_for_update(of=("self",))
        .select_related("area", "verified_account__resident_profile")
        .filter(reference_hash=reference_hash(reference))
        .first()
    )
    if entry is None or entry.dob_hash != dob_hash(date_of_birth):
        raise ValidationError(
            {
                "register_reference": [
                    _("The reference and date of birth do not match the council's register.")
                ]
            }
        )
    if entry.verified_account_id is not None:
        voted = (
            budget_round is not None
            and Ballot.objects.filter(
                voter_id=entry.verified_account_id, round_area__budget_round=budget_round
            ).exists()
        )
        if voted:
            message = _(
                "The person on the register with this reference already voted in this round "
                "(online or on paper). Each person votes once."
            )
        else:
            profile = getattr(entry.verified_account, "resident_profile", None)
            message = _(
                "This register entry already belongs to an account (%(name)s): find them in "
                "the list and record their ballot there."
            ) % {"name": profile.display_name if profile else _("an account")}
        raise ValidationError({"register_reference": [message]})
    if entry.area_id != area.pk:
        raise ValidationError(
            {"area": [_("The council's register has this person in %s.") % entry.area.name]}
        )
    return entry


def walk_in_voter_register(
    *,
    officer: AnyUser,
    name: str,
    area: Area,
    date_of_birth: date,
    today: date,
    reference: str = "",
    budget_round: BudgetRound | None = None,
    now: datetime | None = None,
) -> ResidentProfile:
    """Register a person who came to a polling place without an account, so an officer
    can record their paper ballot. They get no login; the officer saw proof of address.

    With their register ``reference`` they are matched to the council's register (what a
    round requiring it needs) and become eligibility-verified through that entry."""
    enforce(policies.can_register_walk_in(officer))
    errors: dict[str, list[str]] = {}
    try:
        name = " ".join(
            text_clean(
                name,
                field="name",
                max_length=WALK_IN_NAME_MAX,
                required_message=_("Enter the voter's full name."),
            ).split()
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if area.is_city_wide:
        errors["area"] = [_("Choose the area where the voter lives, not the whole council.")]
    if date_of_birth > today:
        errors["date_of_birth"] = [_("The date of birth cannot be in the future.")]
    elif date_of_birth.year < EARLIEST_YEAR:
        errors["date_of_birth"] = [_("Check the year of birth.")]
    if (
        budget_round is not None
        and budget_round.verification_required == VerificationRequired.REGISTER
        and not reference.strip()
    ):
        errors["register_reference"] = [
            _(
                "“%(round)s” counts votes only from residents matched on the council's "
                "register: enter the reference on their council letter."
            )
            % {"round": budget_round.name}
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        duplicate = ResidentProfile.objects.filter(
            display_name__iexact=name, date_of_birth=date_of_birth, area=area
        ).exists()
        if duplicate:
            raise ValidationError(
                _(
                    "%(name)s, born %(born)s, is already registered in %(area)s. Find them "
                    "in the list and record their ballot there."
                )
                % {"name": name, "born": formats.date_format(date_of_birth), "area": area.name}
            )
        entry = (
            _walk_in_register_entry(
                reference=reference,
                date_of_birth=date_of_birth,
                area=area,
                budget_round=budget_round,
            )
            if reference.strip()
            else None
        )
        user = User(username=f"walk-in-{secrets.token_hex(8)}", email="")
        user.set_unusable_password()
        user.save()
        moment = now or timezone.now()
        profile = ResidentProfile.objects.create(
            user=user,
            display_name=name,
            area=area,
            date_of_birth=date_of_birth,
            registered_by=signed_in(officer),
            eligibility_verified_at=moment if entry else None,
            eligibility_method=EligibilityMethod.REGISTER if entry else "",
        )
        if entry is not None:
            entry.verified_account = user
            entry.verified_at = moment
            entry.save(update_fields=["verified_account", "verified_at"])
        return profile


# --- Receipt emails (queued in the ballot's transaction, sent after it commits) ---------


def _receipt_email_after_commit(ballot: Ballot) -> None:
    receipt_enqueue(ballot, now=ballot.changed_at)
