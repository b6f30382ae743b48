from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pb_platform.roles import GRANTABLE_ROLES, role_grant, role_revoke


class Command(BaseCommand):
    help = "Give a user (found by email) the officer or auditor role, or take it away."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("role", choices=GRANTABLE_ROLES)
        parser.add_argument("--revoke", action="store_true", help="Take the role away instead.")

    def handle(self, *args: Any, email: str, role: str, revoke: bool, **options: Any) -> None:
        users = list(get_user_model().objects.filter(email__iexact=email.strip())[:2])
        if not users:
            raise CommandError(f"No user has the email {email!r}. They must sign up first.")
        if len(users) > 1:
            raise CommandError(f"More than one user has the email {email!r}; use the admin.")
        user = users[0]
        if revoke:
            changed = role_revoke(user=user, role=role)
            verb = "no longer has" if changed else "did not have"
        else:
            changed = role_grant(user=user, role=role)
            verb = "now has" if changed else "already had"
        self.stdout.write(f"{user.email} {verb} the {role} role.")
