"""Which Commonpurse this is: shown with results, stored with explanations and backups."""

from __future__ import annotations

from functools import cache
from importlib import metadata


@cache  # read once per process: an upgrade restarts the processes
def commonpurse_version() -> str:
    """The installed package's version, or "" when run from a checkout never installed."""
    try:
        return metadata.version("commonpurse")
    except metadata.PackageNotFoundError:
        return ""
