"""The user types services, selectors and policies are written against.

We use Django's own ``auth.User`` (``AUTH_USER_MODEL`` is not swapped), so typing
against the concrete class gives mypy its real fields (``email``, ``pk``, ``groups``).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as User  # re-exported on purpose
from django.core.exceptions import PermissionDenied

# Whoever is making a request: pages and policies also answer visitors.
AnyUser = User | AnonymousUser


def signed_in(user: AnyUser) -> User:
    """The account behind ``user`` once a policy has admitted it to write something.

    Policies refuse visitors before any write; this states that for the type checker and
    refuses, rather than storing nothing, should a service ever skip its policy.
    """
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
