"""The cache that holds sign-in rate limits (allauth's) and TOTP codes already used.

Rate limits only work if every web process sees the same counts, so the cache is never
per process: Redis when ``REDIS_URL`` is set, otherwise the database
(``DATABASE_CACHE_TABLE``, created by migration ``pb_platform.0006``).

When Redis is configured but unreachable, a cache error would turn every sign-in into a
500 (allauth writes the limit before it checks the password). ``RedisWithDatabaseFallback``
answers from the database cache instead, logging a warning, and skips Redis for
``RETRY_AFTER_SECONDS`` before trying it again, so an outage costs one refused
connection per process per half minute rather than one per request. Limits keep holding
while Redis is down (all processes fall back to the same table); counts made in one
store are not carried over to the other when it switches.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DATABASE_CACHE_TABLE = "pb_cache"
RETRY_AFTER_SECONDS = 30.0
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class RedisWithDatabaseFallback(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._fallback = DatabaseCache(
            params.get("FALLBACK_TABLE", DATABASE_CACHE_TABLE),
            {key: value for key, value in params.items() if key != "OPTIONS"},
        )
        self._down_until = 0.0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except _REDIS_DOWN as error:
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
                logger.warning(
                    "Redis cache unreachable (%s); using the database cache for %ss",
                    error,
                    RETRY_AFTER_SECONDS,
                )
        return getattr(self._fallback, name)(*args, **kwargs)

    # Every operation allauth and Django use; the rest of BaseCache is built on these.
    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        return self._call("clear")
