"""Template filters over ``voting.permissions``, so templates and views agree."""

from django import template

from voting import permissions

register = template.Library()

for _name in ("can_vote_online", "can_record_paper_ballots", "can_view_turnout"):
    register.filter(_name, getattr(permissions, _name))
