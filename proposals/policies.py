"""May this user do this to this object now, and if not, why: the proposals app's rules.

Each function decides from the user's role (``proposals.permissions``), the round's
phase at ``now`` and the object's state, using only objects the caller already loaded,
and returns a ``pb_platform.policies.Decision``. Services ``enforce`` them for every
caller; views and templates only show the answer and its reason.
"""

from __future__ import annotations

from pb_platform.policies import ALLOW, Decision, deny, first_denial  # noqa: F401

# --- Rounds, areas and residents --------------------------------------------------------


# --- Proposals, comments and categories -------------------------------------------------
