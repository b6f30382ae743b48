"""The user types services, selectors and policies are written against.

We use Django's own ``auth.User`` (``AUTH_USER_MODEL`` is not swapped), so typing
against the concrete class gives mypy its real fields (``email``, ``pk``, ``groups``).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as User  # re-exported on purpose

# Whoever is making a request: pages and policies also answer visitors.
AnyUser = User | AnonymousUser
