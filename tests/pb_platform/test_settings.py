"""Settings come from the environment, and a malformed value stops the process loudly.

The helpers in ``pb_platform/env.py`` are tested directly with an explicit ``environ``;
the settings module as a whole is tested in fresh ``manage.py`` processes, because
settings are read once per process and a failure must stop start-up itself.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pb_platform.env import (
    env_bool,
    env_database,
    env_file_load,
    env_int,
    env_list,
    env_optional_database,
    env_rate,
    env_redis_url,
    env_str,
    env_time_zone,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# --- The helpers, one by one ------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "TRUE", "yes", "on", " true "])
def test_env_bool_true_variants(raw):
    assert env_bool("DEBUG", False, environ={"DEBUG": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "NO", "off", " off "])
def test_env_bool_false_variants(raw):
    assert env_bool("DEBUG", True, environ={"DEBUG": raw}) is False


@pytest.mark.parametrize("environ", [{}, {"DEBUG": ""}, {"DEBUG": "  "}])
def test_env_bool_unset_or_blank_gives_the_default(environ):
    assert env_bool("DEBUG", True, environ=environ) is True
    assert env_bool("DEBUG", False, environ=environ) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "tru"])
def test_env_bool_garbage_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^EMAIL_USE_TLS must be one of") as info:
        env_bool("EMAIL_USE_TLS", True, environ={"EMAIL_USE_TLS": raw})
    assert repr(raw) in str(info.value)


def test_env_str_required_and_missing_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY must be set"):
        env_str("SECRET_KEY", environ={})
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY must be set"):
        env_str("SECRET_KEY", environ={"SECRET_KEY": ""})
    assert env_str("SECRET_KEY", environ={"SECRET_KEY": "s3cret"}) == "s3cret"
    assert env_str("LOG_LEVEL", "INFO", environ={}) == "INFO"


@pytest.mark.parametrize("raw", ["120/min", "5/s", "1000/day"])
def test_env_rate_accepts_a_number_per_unit(raw):
    assert env_rate("API_RATE_LIMIT", "1/s", environ={"API_RATE_LIMIT": raw}) == raw


@pytest.mark.parametrize("raw", ["120", "0/min", "fast", "10/week", "-1/s"])
def test_env_rate_garbage_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^API_RATE_LIMIT must be a number"):
        env_rate("API_RATE_LIMIT", "1/s", environ={"API_RATE_LIMIT": raw})


def test_env_int_parses_and_defaults():
    assert env_int("EMAIL_PORT", 587, environ={}) == 587
    assert env_int("EMAIL_PORT", 587, environ={"EMAIL_PORT": ""}) == 587
    assert env_int("EMAIL_PORT", 587, environ={"EMAIL_PORT": " 25 "}) == 25
    assert env_int("SECURE_HSTS_SECONDS", 1, minimum=0, environ={"SECURE_HSTS_SECONDS": "0"}) == 0


@pytest.mark.parametrize("raw", ["abc", "1.5", "30s", "0x10"])
def test_env_int_garbage_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^PHASE_TICK_SECONDS must be a whole number"):
        env_int("PHASE_TICK_SECONDS", 30, minimum=1, environ={"PHASE_TICK_SECONDS": raw})


def test_env_int_below_minimum_names_the_variable_and_the_minimum():
    with pytest.raises(
        ImproperlyConfigured, match=r"^PHASE_TICK_SECONDS must be at least 1, not 0\."
    ):
        env_int("PHASE_TICK_SECONDS", 30, minimum=1, environ={"PHASE_TICK_SECONDS": "0"})
    with pytest.raises(ImproperlyConfigured, match=r"^EMAIL_PORT must be at least 1, not -5\."):
        env_int("EMAIL_PORT", 587, minimum=1, environ={"EMAIL_PORT": "-5"})


def test_env_list_splits_and_strips():
    environ = {"ALLOWED_HOSTS": "pb.example.org, www.pb.example.org"}
    assert env_list("ALLOWED_HOSTS", [], environ=environ) == [
        "pb.example.org",
        "www.pb.example.org",
    ]
    assert env_list("ALLOWED_HOSTS", ["x"], environ={"ALLOWED_HOSTS": "one"}) == ["one"]


def test_env_list_default_is_a_copy():
    default = ["localhost"]
    value = env_list("ALLOWED_HOSTS", default, environ={})
    assert value == default
    assert value is not default


@pytest.mark.parametrize("raw", ["a,,b", "a,", ",a", "a, ,b"])
def test_env_list_empty_item_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match=r"^ALLOWED_HOSTS is a comma-separated list"):
        env_list("ALLOWED_HOSTS", [], environ={"ALLOWED_HOSTS": raw})


@pytest.mark.parametrize("zone", ["Europe/London", "UTC", "America/New_York"])
def test_env_time_zone_accepts_iana_names(zone):
    assert env_time_zone("TIME_ZONE", "UTC", environ={"TIME_ZONE": zone}) == zone


def test_env_time_zone_default():
    assert env_time_zone("TIME_ZONE", "Europe/London", environ={}) == "Europe/London"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Nowhere/Land", "../../etc/passwd", "GMT+1"])
def test_env_time_zone_rejects_unknown_zones(zone):
    with pytest.raises(ImproperlyConfigured, match=r"^TIME_ZONE (must be|is not) .*IANA"):
        env_time_zone("TIME_ZONE", "UTC", environ={"TIME_ZONE": zone})


def test_env_database_default_is_sqlite(tmp_path):
    path = tmp_path / "db.sqlite3"
    config = env_database("DATABASE_URL", f"sqlite:///{path}", environ={})
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(path)


def test_env_database_postgres_url():
    environ = {"DATABASE_URL": "postgres://pb:pa%40ss@db.internal:6543/commonpurse"}
    config = env_database("DATABASE_URL", "sqlite:///unused", environ=environ)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "commonpurse"
    assert config["USER"] == "pb"
    assert config["PASSWORD"] == "pa@ss"
    assert config["HOST"] == "db.internal"
    assert int(config["PORT"]) == 6543


def test_env_database_postgres_socket_path_url():
    environ = {"DATABASE_URL": "postgres://%2Fvar%2Frun%2Fpostgresql/db"}
    config = env_database("DATABASE_URL", "sqlite:///unused", environ=environ)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["HOST"] == "/var/run/postgresql"
    assert config["NAME"] == "db"


def test_env_database_rejects_mysql():
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL must be a postgres:// or"):
        env_database(
            "DATABASE_URL", "sqlite:///unused", environ={"DATABASE_URL": "mysql://u:p@h/db"}
        )


@pytest.mark.parametrize("url", ["nonsense", "http://example.org/db", "postgres://db.internal"])
def test_env_database_rejects_what_it_cannot_use(url):
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_URL "):
        env_database("DATABASE_URL", "sqlite:///unused", environ={"DATABASE_URL": url})


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://:pw@cache.internal:6380/1", "unix:///run/redis.sock"],
)
def test_env_redis_url_accepts_redis_urls(url):
    assert env_redis_url("REDIS_URL", environ={"REDIS_URL": url}) == url


@pytest.mark.parametrize("environ", [{}, {"REDIS_URL": ""}, {"REDIS_URL": "  "}])
def test_env_redis_url_unset_is_empty(environ):
    assert env_redis_url("REDIS_URL", environ=environ) == ""


@pytest.mark.parametrize("url", ["http://x", "127.0.0.1:6379", "memcached://x"])
def test_env_redis_url_rejects_other_schemes(url):
    with pytest.raises(ImproperlyConfigured, match=r"^REDIS_URL must start with redis://"):
        env_redis_url("REDIS_URL", environ={"REDIS_URL": url})


# --- The settings module, in fresh processes --------------------------------------------

# Every variable settings.py reads, so the parent's values (pytest-env's defaults, CI's
# DATABASE_URL and REDIS_URL) never leak into a process that is meant to start bare.
_SETTINGS_SOURCE = (PROJECT_ROOT / "pb_platform" / "settings.py").read_text()
SETTINGS_VARIABLES = frozenset(re.findall(r'\benv_\w+\(\s*"([A-Z][A-Z0-9_]*)"', _SETTINGS_SOURCE))
STRIPPED_PREFIXES = ("SECURE_", "EMAIL_", "CELERY_", "DATABASE_", "DJANGO_")


def test_every_settings_variable_is_stripped():
    """Guards the regex above: if it stopped matching, the process tests would lie."""
    expected = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "VAR_DIR"}
    assert expected <= SETTINGS_VARIABLES


def strong_secret_key() -> str:
    return secrets.token_urlsafe(50)


@pytest.fixture
def bare_env(tmp_path) -> dict[str, str]:
    """The parent environment without any setting, and a throwaway VAR_DIR."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and not name.startswith(STRIPPED_PREFIXES)
    }
    env["DJANGO_SETTINGS_MODULE"] = "pb_platform.settings"
    env["VAR_DIR"] = str(tmp_path / "var")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture
def production_env(bare_env) -> dict[str, str]:
    """The least a production deployment must set."""
    return {
        **bare_env,
        "DEBUG": "false",
        "SECRET_KEY": strong_secret_key(),
        "ALLOWED_HOSTS": "pb.example.org",
        "REGISTER_HMAC_KEY": strong_secret_key(),
    }


def run_python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(env, "manage.py", *args)


def improperly_configured(result: subprocess.CompletedProcess[str]) -> str:
    """The ImproperlyConfigured message a failed start-up ended with."""
    assert result.returncode != 0, f"expected a failure, got:\n{result.stdout}{result.stderr}"
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    lines = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
    assert lines, f"no ImproperlyConfigured in stderr:\n{result.stderr}"
    return lines[-1].removeprefix(prefix)


_PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "EMAIL_BACKEND": s.EMAIL_BACKEND,
    "CELERY_BROKER_URL": s.CELERY_BROKER_URL,
    "CELERY_BROKER_TRANSPORT_OPTIONS": s.CELERY_BROKER_TRANSPORT_OPTIONS,
    "CELERY_TASK_DEFAULT_QUEUE": s.CELERY_TASK_DEFAULT_QUEUE,
    "CELERY_BEAT_SCHEDULE_FILENAME": s.CELERY_BEAT_SCHEDULE_FILENAME,
    "CACHE_BACKEND": s.CACHES["default"]["BACKEND"],
    "VAR_DIR": str(s.VAR_DIR),
}))
"""


def settings_in(env: dict[str, str]) -> dict[str, object]:
    result = run_python(env, "-c", _PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_without_secret_key_refuses_to_start(bare_env):
    result = manage({**bare_env, "DEBUG": "false", "ALLOWED_HOSTS": "pb.example.org"}, "check")
    assert "SECRET_KEY must be set when DEBUG is false" in improperly_configured(result)


def test_production_with_debug_unset_refuses_to_start_without_secret_key(bare_env):
    """DEBUG defaults to off, so a forgotten DEBUG is production, not development."""
    assert "SECRET_KEY" in improperly_configured(manage(bare_env, "check"))


@pytest.mark.parametrize("key", ["short", "django-insecure-" + "x" * 60])
def test_production_with_weak_secret_key_refuses_to_start(bare_env, key):
    env = {**bare_env, "DEBUG": "false", "SECRET_KEY": key, "ALLOWED_HOSTS": "pb.example.org"}
    assert "SECRET_KEY is too weak" in improperly_configured(manage(env, "check"))


def test_production_without_allowed_hosts_refuses_to_start(bare_env):
    env = {**bare_env, "DEBUG": "false", "SECRET_KEY": strong_secret_key()}
    assert "ALLOWED_HOSTS must be set when DEBUG is false" in improperly_configured(
        manage(env, "check")
    )


def test_production_without_register_key_refuses_to_start(production_env):
    env = {name: value for name, value in production_env.items() if name != "REGISTER_HMAC_KEY"}
    assert "REGISTER_HMAC_KEY must be set when DEBUG is false" in improperly_configured(
        manage(env, "check")
    )


@pytest.mark.parametrize("key", ["short", "development-only-" + "x" * 40])
def test_production_with_weak_register_key_refuses_to_start(production_env, key):
    env = {**production_env, "REGISTER_HMAC_KEY": key}
    assert "REGISTER_HMAC_KEY is too weak" in improperly_configured(manage(env, "check"))


def test_production_minimum_passes_the_deployment_checks(production_env):
    result = manage(production_env, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("DATABASE_URL", "mysql://pb@127.0.0.1/commonpurse", "DATABASE_URL must be a postgres://"),
        ("DATABASE_URL", "nonsense", "DATABASE_URL is not a database URL"),
        ("TIME_ZONE", "Nowhere/Land", "TIME_ZONE must be an IANA time zone"),
        ("REDIS_URL", "http://x", "REDIS_URL must start with redis://"),
        ("ALLOWED_HOSTS", "pb.example.org,", "ALLOWED_HOSTS is a comma-separated list"),
        ("PHASE_TICK_SECONDS", "0", "PHASE_TICK_SECONDS must be at least 1"),
        ("EMAIL_PORT", "smtp", "EMAIL_PORT must be a whole number"),
        ("MEDIA_STORAGE", "ftp", "MEDIA_STORAGE must be filesystem or s3"),
        ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT must be at least 0"),
        ("TRUSTED_PROXY_COUNT", "one", "TRUSTED_PROXY_COUNT must be a whole number"),
    ],
)
def test_malformed_value_stops_start_up_naming_the_variable(production_env, name, value, message):
    result = manage({**production_env, name: value}, "check")
    assert message in improperly_configured(result)


def test_development_needs_nothing_else(bare_env):
    env = {**bare_env, "DEBUG": "true"}
    result = manage(env, "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    values = settings_in(env)
    assert values["DEBUG"] is True
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    # Shared by every process (sign-in limits), unlike a per-process memory cache.
    assert values["CACHE_BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_development_with_an_email_host_sends_real_mail(bare_env):
    values = settings_in({**bare_env, "DEBUG": "true", "EMAIL_HOST": "smtp.example.org"})
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_production_sends_real_mail(production_env):
    values = settings_in(production_env)
    assert values["DEBUG"] is False
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_without_redis_the_broker_is_one_existing_folder(bare_env):
    values = settings_in({**bare_env, "DEBUG": "true"})
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    options = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert isinstance(options, dict)
    # Different folders would mean the worker reads where nobody writes.
    assert options["data_folder_in"] == options["data_folder_out"]
    folder = Path(options["data_folder_in"])
    assert folder.is_dir()
    assert folder.is_relative_to(bare_env["VAR_DIR"])
    assert Path(str(values["CELERY_BEAT_SCHEDULE_FILENAME"])).parent == Path(bare_env["VAR_DIR"])
    # Shared by every process (sign-in limits), unlike a per-process memory cache.
    assert values["CACHE_BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_with_redis_the_broker_and_cache_use_it(bare_env):
    url = "redis://127.0.0.1:6379/0"
    values = settings_in({**bare_env, "DEBUG": "true", "REDIS_URL": url})
    assert values["CELERY_BROKER_URL"] == url
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"] == {}
    # Redis, falling back to the database cache while Redis is down.
    assert values["CACHE_BACKEND"] == "pb_platform.cache.RedisWithDatabaseFallback"
    assert not (Path(bare_env["VAR_DIR"]) / "celery-broker").exists()


def test_celery_queue_defaults_and_can_be_set(bare_env):
    assert settings_in({**bare_env, "DEBUG": "true"})["CELERY_TASK_DEFAULT_QUEUE"] == "commonpurse"
    values = settings_in({**bare_env, "DEBUG": "true", "CELERY_QUEUE": "commonpurse-test-1"})
    assert values["CELERY_TASK_DEFAULT_QUEUE"] == "commonpurse-test-1"


# --- The development .env that make run writes --------------------------------------------


def test_env_file_sets_what_the_environment_lacks_and_never_overrides(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# development\n\n"
        "DEBUG=true\n"
        "export SITE_URL=http://127.0.0.1:8001\n"
        "  DEFAULT_FROM_EMAIL='Commonpurse <pb@example.org>'\n"
        'LOG_LEVEL="DEBUG"\n'
        "SECRET_KEY=from-the-file\n"
        "EMPTY=\n"
    )
    environ = {"SECRET_KEY": "from-the-real-environment"}
    loaded = env_file_load(path, environ=environ)
    assert loaded == ["DEBUG", "SITE_URL", "DEFAULT_FROM_EMAIL", "LOG_LEVEL", "EMPTY"]
    assert environ == {
        "SECRET_KEY": "from-the-real-environment",
        "DEBUG": "true",
        "SITE_URL": "http://127.0.0.1:8001",
        "DEFAULT_FROM_EMAIL": "Commonpurse <pb@example.org>",
        "LOG_LEVEL": "DEBUG",
        "EMPTY": "",
    }


def test_env_file_missing_is_nothing(tmp_path):
    environ: dict[str, str] = {}
    assert env_file_load(tmp_path / "absent", environ=environ) == []
    assert environ == {}


@pytest.mark.parametrize("line", ["DEBUG", "not a setting", "1DEBUG=true", "DEBUG true"])
def test_env_file_malformed_line_names_the_file_and_line(tmp_path, line):
    path = tmp_path / ".env"
    path.write_text(f"# ok\nDEBUG=true\n{line}\n")
    environ: dict[str, str] = {}
    with pytest.raises(ImproperlyConfigured, match=r"\.env, line 3: expected NAME=value"):
        env_file_load(path, environ=environ)


def test_manage_py_reads_the_env_file_and_the_real_environment_wins(bare_env, tmp_path):
    env_file = tmp_path / "development.env"
    env_file.write_text("DEBUG=true\nLOG_LEVEL=WARNING\n")
    with_file = {**bare_env, "ENV_FILE": str(env_file)}
    assert settings_in(with_file)["DEBUG"] is True
    # Without the file, the same command refuses: production defaults need a key.
    result = manage({**bare_env, "ENV_FILE": ""}, "check")
    assert "SECRET_KEY must be set when DEBUG is false" in improperly_configured(result)
    # A variable set in the real environment beats the file.
    result = manage({**with_file, "DEBUG": "false", "ALLOWED_HOSTS": "pb.example.org"}, "check")
    assert "SECRET_KEY must be set when DEBUG is false" in improperly_configured(result)


def test_a_malformed_env_file_stops_start_up_naming_it(bare_env, tmp_path):
    env_file = tmp_path / "development.env"
    env_file.write_text("DEBUG=true\nthis is not a setting\n")
    result = manage({**bare_env, "ENV_FILE": str(env_file)}, "check")
    assert f"{env_file}, line 2: expected NAME=value" in improperly_configured(result)


# --- Where uploads are kept -------------------------------------------------------------

_PRINT_MEDIA = """
import json, sys
if "--without-storages" in sys.argv:
    sys.modules["storages"] = None  # as if django-storages were not installed
import django
django.setup()
from django.conf import settings as s
from django.urls import NoReverseMatch, reverse
try:
    reverse("media_upload", kwargs={"name": "proposals/bench.png"})
    served_by_app = True
except NoReverseMatch:
    served_by_app = False
print(json.dumps({
    "default": s.STORAGES["default"],
    "served_by_app": served_by_app,
    "img_src": s.CONTENT_SECURITY_POLICY["img-src"],
}))
"""


def media_settings_in(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return run_python(env, "-c", _PRINT_MEDIA, *flags)


@pytest.fixture
def stub_django_storages(tmp_path) -> dict[str, str]:
    """A stand-in ``storages`` package, first on the path: the settings only need it to
    be importable (django-storages is the optional ``s3`` extra, not installed here)."""
    package = tmp_path / "stub" / "storages"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    return {"PYTHONPATH": str(package.parent)}


def test_uploads_are_on_disk_and_served_by_the_app_by_default(production_env):
    result = media_settings_in(production_env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert values["served_by_app"] is True
    assert values["img_src"] == ["'self'", "data:"]


def test_s3_uploads_go_to_the_bucket_through_django_storages(production_env, stub_django_storages):
    env = {
        **production_env,
        **stub_django_storages,
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "council-pb-uploads",
        "AWS_S3_REGION_NAME": "eu-west-2",
        "AWS_S3_ENDPOINT_URL": "https://s3.eu-west-2.example.net",
    }
    result = media_settings_in(env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "council-pb-uploads",
            "region_name": "eu-west-2",
            "endpoint_url": "https://s3.eu-west-2.example.net",
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 3600,
        },
    }
    # The bucket's own (signed) addresses are used: no /media/ on the site, and pages
    # may show images from the store.
    assert values["served_by_app"] is False
    assert values["img_src"] == ["'self'", "data:", "https://s3.eu-west-2.example.net"]


def test_s3_uploads_on_amazon_are_shown_from_the_buckets_host(production_env, stub_django_storages):
    env = {
        **production_env,
        **stub_django_storages,
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "council-pb-uploads",
        "AWS_S3_REGION_NAME": "eu-west-2",
    }
    result = media_settings_in(env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["default"]["OPTIONS"]["endpoint_url"] is None
    assert values["img_src"] == [
        "'self'",
        "data:",
        "https://council-pb-uploads.s3.amazonaws.com",
        "https://council-pb-uploads.s3.eu-west-2.amazonaws.com",
    ]


def test_s3_uploads_with_a_malformed_endpoint_refuse_to_start(production_env, stub_django_storages):
    env = {
        **production_env,
        **stub_django_storages,
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "uploads",
        "AWS_S3_ENDPOINT_URL": "s3.example.net",
    }
    assert "AWS_S3_ENDPOINT_URL must be an http(s):// URL" in (
        improperly_configured(manage(env, "check"))
    )


def test_s3_uploads_without_a_bucket_refuse_to_start(production_env, stub_django_storages):
    env = {**production_env, **stub_django_storages, "MEDIA_STORAGE": "s3"}
    assert "AWS_STORAGE_BUCKET_NAME must be set when MEDIA_STORAGE is s3" in (
        improperly_configured(manage(env, "check"))
    )


def test_s3_uploads_without_django_storages_say_what_to_install(production_env):
    env = {**production_env, "MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "uploads"}
    result = media_settings_in(env, "--without-storages")
    assert "MEDIA_STORAGE=s3 needs django-storages: pip install -e '.[s3]'" in (
        improperly_configured(result)
    )


_SIGN_IN_LIMITS_ADDRESS = """
import django
django.setup()
from django.test import RequestFactory
from allauth.core.internal.httpkit import get_client_ip
request = RequestFactory().get(
    "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9"
)
print(get_client_ip(request))
"""


@pytest.mark.parametrize(
    ("extra", "counted"),
    [
        ({}, "127.0.0.1"),  # no proxy declared: the connection's address
        ({"TRUSTED_PROXY_COUNT": "1"}, "203.0.113.9"),  # what deploy/nginx appended
        ({"TRUSTED_PROXY_COUNT": "2"}, "198.51.100.7"),
    ],
)
def test_sign_in_limits_count_the_address_the_trusted_proxies_report(
    production_env, extra, counted
):
    result = run_python({**production_env, **extra}, "-c", _SIGN_IN_LIMITS_ADDRESS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == counted


# --- The read replica (DATABASE_REPLICA_URL) --------------------------------------------


def test_env_optional_database_unset_or_blank_is_none():
    assert env_optional_database("DATABASE_REPLICA_URL", environ={}) is None
    assert (
        env_optional_database("DATABASE_REPLICA_URL", environ={"DATABASE_REPLICA_URL": " "}) is None
    )


def test_env_optional_database_parses_like_database_url():
    environ = {"DATABASE_REPLICA_URL": "postgres://pb@replica.internal:5433/commonpurse"}
    config = env_optional_database("DATABASE_REPLICA_URL", environ=environ)
    assert config is not None
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], int(config["PORT"]), config["NAME"]) == (
        "replica.internal",
        5433,
        "commonpurse",
    )


_PRINT_DATABASES = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "aliases": sorted(s.DATABASES),
    "replica": {
        "HOST": s.DATABASES["replica"]["HOST"],
        "NAME": s.DATABASES["replica"]["NAME"],
        "MIRROR": s.DATABASES["replica"]["TEST"]["MIRROR"],
    } if "replica" in s.DATABASES else None,
    "routers": s.DATABASE_ROUTERS,
    "middleware": s.MIDDLEWARE,
}))
"""

REPLICA_MIDDLEWARE = "pb_platform.db_router.ReplicaReadsMiddleware"


def databases_in(env: dict[str, str]) -> dict[str, object]:
    result = run_python(env, "-c", _PRINT_DATABASES)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_replica_everything_uses_the_one_database(production_env):
    values = databases_in(production_env)
    assert values["aliases"] == ["default"]
    assert values["routers"] == []
    assert REPLICA_MIDDLEWARE not in values["middleware"]


def test_a_replica_url_adds_the_replica_its_router_and_the_middleware(production_env):
    values = databases_in(
        {
            **production_env,
            "DATABASE_URL": "postgres://pb@primary.internal:5432/commonpurse",
            "DATABASE_REPLICA_URL": "postgres://pb@replica.internal:5432/commonpurse",
        }
    )
    assert values["aliases"] == ["default", "replica"]
    # Tests run on the primary's test database alone; the replica mirrors it there.
    assert values["replica"] == {
        "HOST": "replica.internal",
        "NAME": "commonpurse",
        "MIRROR": "default",
    }
    assert values["routers"] == ["pb_platform.db_router.ReplicaRouter"]
    middleware = values["middleware"]
    assert isinstance(middleware, list)
    # Decided before anything reads the database: right after the request id.
    assert middleware.index(REPLICA_MIDDLEWARE) == (
        middleware.index("pb_platform.logs.RequestIdMiddleware") + 1
    )
    assert middleware.index(REPLICA_MIDDLEWARE) < middleware.index(
        "django.contrib.sessions.middleware.SessionMiddleware"
    )


@pytest.mark.parametrize(
    ("primary", "replica", "message"),
    [
        (None, "nonsense", "DATABASE_REPLICA_URL is not a database URL"),
        (None, "mysql://pb@127.0.0.1/commonpurse", "DATABASE_REPLICA_URL must be a postgres://"),
        (None, "postgres://replica.internal", "DATABASE_REPLICA_URL "),
        (
            None,  # the primary is the default SQLite file
            "postgres://pb@replica.internal/commonpurse",
            "DATABASE_REPLICA_URL must use the same database engine as DATABASE_URL",
        ),
        ("postgres://pb@primary.internal/commonpurse", "x" * 3, "DATABASE_REPLICA_URL "),
    ],
)
def test_a_malformed_replica_url_stops_start_up_naming_it(
    production_env, primary, replica, message
):
    env = {**production_env, "DATABASE_REPLICA_URL": replica}
    if primary:
        env["DATABASE_URL"] = primary
    assert message in improperly_configured(manage(env, "check"))


def test_the_replica_pin_must_be_a_positive_number_of_seconds(production_env):
    env = {**production_env, "DATABASE_REPLICA_PIN_SECONDS": "0"}
    assert "DATABASE_REPLICA_PIN_SECONDS must be at least 1" in improperly_configured(
        manage(env, "check")
    )
