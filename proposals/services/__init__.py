"""Writes for the proposals app, one module per subject. The names most callers need are
re-exported here, so ``services.round_create(...)`` reads the same everywhere."""

from proposals.services.amendments import (
    amendment_accept,
    amendment_decline,
    amendment_suggest,
    amendment_withdraw,
    amendments_lapse,
)
from proposals.services.areas import area_create, area_update
from proposals.services.coauthors import (
    coauthor_accept,
    coauthor_decline,
    coauthor_invite,
    coauthor_remove,
)
from proposals.services.codesign import (
    codesign_accept,
    codesign_decline,
    codesign_offer,
    codesign_offers_lapse,
    codesign_withdraw,
    proposal_support_add,
    proposal_support_withdraw,
)
from proposals.services.comments import comment_add, comment_flag, comment_hide, comment_reply
from proposals.services.merges import (
    merge_agree,
    merge_decline,
    merge_propose,
    merge_withdraw,
    merges_lapse,
)
from proposals.services.proposals import (
    ProposalContent,
    category_create,
    image_pixels_problem,
    proposal_content_commit,
    proposal_content_validate,
    proposal_create,
    proposal_mark_duplicate,
    proposal_return_to_author,
    proposal_review,
    proposal_update,
    proposal_withdraw,
)
from proposals.services.residents import resident_change_area, resident_register
from proposals.services.rounds import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    RoundConfig,
    round_config_validate,
    round_create,
    round_update,
    rounds_advance_phases,
)

__all__ = [
    "DESCRIPTION_MAX_LENGTH",
    "NAME_MAX_LENGTH",
    "ProposalContent",
    "RoundConfig",
    "amendment_accept",
    "amendment_decline",
    "amendment_suggest",
    "amendment_withdraw",
    "amendments_lapse",
    "area_create",
    "area_update",
    "category_create",
    "coauthor_accept",
    "coauthor_decline",
    "coauthor_invite",
    "coauthor_remove",
    "codesign_accept",
    "codesign_decline",
    "codesign_offer",
    "codesign_offers_lapse",
    "codesign_withdraw",
    "comment_add",
    "comment_flag",
    "comment_hide",
    "comment_reply",
    "image_pixels_problem",
    "merge_agree",
    "merge_decline",
    "merge_propose",
    "merge_withdraw",
    "merges_lapse",
    "proposal_content_commit",
    "proposal_content_validate",
    "proposal_create",
    "proposal_mark_duplicate",
    "proposal_return_to_author",
    "proposal_review",
    "proposal_support_add",
    "proposal_support_withdraw",
    "proposal_update",
    "proposal_withdraw",
    "resident_change_area",
    "resident_register",
    "round_config_validate",
    "round_create",
    "round_update",
    "rounds_advance_phases",
]
