from proposals.models.codesign import CoDesignOffer, CoDesignStatus, ProposalSupport
from proposals.models.proposals import (
    AUTHOR_EDITABLE_STATUSES,
    PUBLIC_STATUSES,
    REVIEWABLE_STATUSES,
    Category,
    Comment,
    CommentFlag,
    Proposal,
    ProposalEvent,
    ProposalStatus,
)
from proposals.models.register import RegisterEntry, RegisterImport, VerificationCode
from proposals.models.residents import EligibilityMethod, ResidentAreaChange, ResidentProfile
from proposals.models.rounds import (
    Area,
    BallotType,
    BudgetRound,
    CountingRule,
    RoundArea,
    RoundChange,
    VerificationRequired,
)

__all__ = [
    "AUTHOR_EDITABLE_STATUSES",
    "PUBLIC_STATUSES",
    "REVIEWABLE_STATUSES",
    "Area",
    "BallotType",
    "BudgetRound",
    "Category",
    "CoDesignOffer",
    "CoDesignStatus",
    "Comment",
    "CommentFlag",
    "CountingRule",
    "EligibilityMethod",
    "Proposal",
    "ProposalEvent",
    "ProposalStatus",
    "ProposalSupport",
    "RegisterEntry",
    "RegisterImport",
    "ResidentAreaChange",
    "ResidentProfile",
    "RoundArea",
    "RoundChange",
    "VerificationCode",
    "VerificationRequired",
]
