"""gunicorn's settings for Commonpurse, read with ``-c``:

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py pb_platform.wsgi:application

Meant to run behind a reverse proxy on the same machine (deploy/nginx/commonpurse.conf),
which terminates TLS, buffers slow clients for the synchronous workers, and sets
X-Forwarded-Proto. Changed from the environment (the same EnvironmentFile as the
site's settings, see deploy/systemd/):

- ``GUNICORN_BIND``: where to listen, default ``127.0.0.1:8000`` (``unix:/run/...``
  for a socket).
- ``WEB_CONCURRENCY``: worker processes, default 2 per CPU + 1, at most 8.
- ``FORWARDED_ALLOW_IPS``: addresses whose X-Forwarded-Proto is believed, default the
  local proxy only (``127.0.0.1,::1``).

gunicorn 23 sends ``Server: gunicorn`` with no version (the test of production serving
checks that no ``Server`` header carries one); behind nginx with ``server_tokens off``
visitors see ``Server: nginx`` instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# More workers than this rarely helps one machine: each holds its own database
# connection and about 100 MB of memory, and requests wait on the database, not the CPU.
MAX_DEFAULT_WORKERS = 8


def available_cpus() -> int:
    """CPUs this process may run on (a container's or a systemd CPUAffinity's limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def web_concurrency(environ: Mapping[str, str] = os.environ) -> int:
    """``WEB_CONCURRENCY``, or gunicorn's advice of 2 workers per CPU + 1, capped."""
    raw = environ.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return min(2 * available_cpus() + 1, MAX_DEFAULT_WORKERS)
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"WEB_CONCURRENCY must be a whole number, not {raw!r}.") from None
    if value < 1:
        raise SystemExit(f"WEB_CONCURRENCY must be at least 1, not {value}.")
    return value


bind = [os.environ.get("GUNICORN_BIND", "").strip() or "127.0.0.1:8000"]
workers = web_concurrency()
# A request running longer than this is a stuck worker: it is killed and replaced.
timeout = 30
# On SIGTERM (systemd's stop, a deploy's restart) requests under way get this long to
# finish. Below the units' TimeoutStopSec=10, so a stop never ends in SIGKILL.
graceful_timeout = 8
# Replace each worker after about a thousand requests: memory a worker gathers (caches,
# fragmentation) is returned, and workers do not all restart at once (jitter).
max_requests = 1000
max_requests_jitter = 100
# Only the local proxy may say a request came over HTTPS: Django then sees it as secure
# (SECURE_SSL_REDIRECT, secure cookies) without trusting anyone else's X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"
# Access log and errors on stdout/stderr, for journald or a container's log collector.
# No client address: behind the proxy it is the proxy's own (the proxy's log has the
# visitor's); the request id ties the line to the application's log lines.
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
