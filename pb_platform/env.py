"""Read settings from the environment and fail loudly on malformed values.

Every helper raises ``ImproperlyConfigured`` naming the variable, so a typo in a
deployment's environment stops the process at start-up instead of surfacing later
as odd behaviour.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_ENV_FILE_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_FALSE = {"0", "false", "no", "off"}


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] = os.environ
) -> str:
    value = environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)$")


def env_rate(name: str, default: str, *, environ: Mapping[str, str] = os.environ) -> str:
    """A request rate such as "120/min": a whole number above 0, a slash and a unit."""
    value = env_str(name, default, environ=environ).strip()
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must be a number of requests per s, min, h or day, such as 120/min, "
            f"not {value!r}."
        )
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, environ: Mapping[str, str] = os.environ
) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] = os.environ
) -> list[str]:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    items = [item.strip() for item in raw.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} is a comma-separated list with an empty item: {raw!r}.")
    return items


def env_time_zone(name: str, default: str, *, environ: Mapping[str, str] = os.environ) -> str:
    value = env_str(name, default, environ=environ)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone such as Europe/London, not {value!r}."
        ) from None
    if value not in available_timezones() and value != "UTC":
        raise ImproperlyConfigured(f"{name} is not a known IANA time zone: {value!r}.")
    return value


def env_database(
    name: str, default: str, *, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    url = env_str(name, default, environ=environ)
    try:
        config = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    except (ValueError, KeyError, dj_database_url.UnknownSchemeError) as error:
        raise ImproperlyConfigured(f"{name} is not a database URL we understand: {error}") from None
    engine = config.get("ENGINE", "")
    if engine not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// or sqlite:// URL; "
            f"{engine or 'no engine'} is not supported."
        )
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database: {url!r}.")
    return dict(config)


def env_optional_database(
    name: str, *, environ: Mapping[str, str] = os.environ
) -> dict[str, Any] | None:
    """As ``env_database``, or None when the variable is unset or blank."""
    if environ.get(name, "").strip() == "":
        return None
    return env_database(name, "", environ=environ)


def env_redis_url(name: str, *, environ: Mapping[str, str] = os.environ) -> str:
    """The Redis URL, or "" when unset (the serverless broker is used then)."""
    raw = environ.get(name, "").strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"{name} must start with redis://, rediss:// or unix://, not {raw!r}."
        )
    return raw


def env_file_load(path: Path, *, environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Read ``NAME=value`` lines from ``path`` into ``environ``, never over a set variable.

    This is the development ``.env`` that ``make run`` writes, so the README's
    ``manage.py`` commands get the same settings as the running site. The real
    environment always wins, and production never needs the file (it sets real
    variables). Blank lines and ``#`` comments are skipped; a value may be wrapped in
    matching single or double quotes, taken literally (no escapes, no ``$`` expansion).
    A line that is none of these stops start-up with the file and line named, like every
    malformed setting. Returns the names it set.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(f"Cannot read the settings file {path}: {error}") from None
    loaded = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_FILE_LINE.match(line)
        if match is None:
            raise ImproperlyConfigured(f"{path}, line {number}: expected NAME=value, not {raw!r}.")
        name, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if name not in environ:
            environ[name] = value
            loaded.append(name)
    return loaded
