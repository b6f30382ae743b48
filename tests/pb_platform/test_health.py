"""What a monitor reads: /healthz (liveness, no dependencies) and /readyz (database,
broker, beat, backlogs), and logs with a request id."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.utils import timezone

from pb_platform import health, logs
from pb_platform.celery import app as celery_app
from pb_platform.models import Heartbeat, JobItem, JobItemStatus, OutboxEmail
from pb_platform.tasks import beat_heartbeat


@pytest.fixture
def fresh_beat(db):
    Heartbeat.objects.create(name=health.BEAT, at=timezone.now())


def readyz(client: Client | None = None):
    response = (client or Client()).get("/readyz")
    return response.status_code, json.loads(response.content)


def test_liveness_needs_no_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_ready_when_database_broker_and_beat_answer(fresh_beat):
    status, body = readyz()
    assert status == 200
    assert body["ready"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "beat": True,
    }


def test_the_backlogs_are_reported_without_failing_readiness(fresh_beat, officer):
    now = timezone.now()
    OutboxEmail.objects.create(
        kind="proposal_decision",
        to_email="a@example.org",
        template_name="proposals/email/status_changed",
        language="en-gb",
        created_at=now,
        next_try_at=now,
    )
    JobItem.objects.create(
        job="close", item_key="round-area-1", status=JobItemStatus.NEEDS_OFFICER, updated_at=now
    )
    status, body = readyz()
    assert status == 200
    assert (body["outbox_pending"], body["outbox_given_up"], body["failed_job_items"]) == (1, 0, 1)


@pytest.mark.parametrize("beat_age", [None, timedelta(minutes=5)])
def test_not_ready_when_beat_has_not_ticked_for_two_periods(db, settings, beat_age):
    settings.PHASE_TICK_SECONDS = 30
    if beat_age is not None:
        Heartbeat.objects.create(name=health.BEAT, at=timezone.now() - beat_age)
    status, body = readyz()
    assert status == 503
    assert body["ready"] is False and body["checks"]["beat"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_a_beat_tick_makes_it_ready_again(db, settings):
    settings.PHASE_TICK_SECONDS = 30
    Heartbeat.objects.create(name=health.BEAT, at=timezone.now() - timedelta(minutes=5))
    beat_heartbeat.apply()
    assert readyz()[0] == 200


def test_not_ready_when_the_broker_is_unreachable(fresh_beat, monkeypatch):
    # A port nothing listens on: the check gives up within its timeout.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    status, body = readyz()
    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_not_ready_when_the_database_is_unreachable(fresh_beat, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:  # undone before the test database is torn down
        patched.setattr(health.connection, "cursor", refuse)
        status, body = readyz()
    assert status == 503
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}


def test_each_request_gets_an_id_in_its_header_and_its_json_log_line(db, caplog):
    with override_settings(LOG_FORMAT="json"), caplog.at_level(logging.INFO, "pb_platform.request"):
        response = Client().get("/healthz")
        offered = Client().get("/healthz", headers={"X-Request-ID": "lb-1234"})
        hostile = Client().get("/healthz", headers={"X-Request-ID": "a b\nforged"})

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert offered["X-Request-ID"] == "lb-1234"
    assert hostile["X-Request-ID"] != "a b\nforged" and len(hostile["X-Request-ID"]) == 32

    records = [r for r in caplog.records if r.name == "pb_platform.request"]
    assert len(records) == 3
    formatter = logs.JsonFormatter()
    logs.RequestIdFilter().filter(records[0])  # outside the request: "-"
    line = formatter.format(records[0])
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["method"] == "GET" and parsed["path"] == "/healthz"
    assert parsed["status"] == 200 and parsed["level"] == "INFO"
    assert "duration_ms" in parsed


def test_a_log_line_inside_a_request_carries_its_id():
    token = logs.request_id_var.set("abc123")
    try:
        record = logging.makeLogRecord({"msg": "counted %s", "args": ("Old Town",)})
        logs.RequestIdFilter().filter(record)
    finally:
        logs.request_id_var.reset(token)
    parsed = json.loads(logs.JsonFormatter().format(record))
    assert parsed["request_id"] == "abc123" and parsed["message"] == "counted Old Town"


def test_no_request_logs_in_text_format(db, caplog):
    with caplog.at_level(logging.INFO, "pb_platform.request"):
        Client().get("/healthz")
    assert not [r for r in caplog.records if r.name == "pb_platform.request"]
