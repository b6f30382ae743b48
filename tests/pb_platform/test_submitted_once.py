"""A creating form sent twice with the same one-time token creates once."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import Context, Template
from django.test import RequestFactory

from pb_platform.models import SubmissionToken
from pb_platform.once import TOKEN_FIELD, submitted_once
from proposals.models import Area
from tests.factories import UserFactory


@submitted_once
def _create_area(request):
    name = request.POST.get("name", "")
    if not name:
        return HttpResponse("Give the area a name.", status=200)
    area = Area.objects.create(name=name, slug=name.lower())
    return redirect(f"/areas/{area.pk}/")


def _post(user, data):
    request = RequestFactory().post("/officer/areas/", data)
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request, _create_area(request)


@pytest.mark.django_db
def test_a_double_click_creates_one_and_lands_on_the_first_result():
    user = UserFactory()
    token = str(uuid.uuid4())
    _request, first = _post(user, {"name": "Eastgate", TOKEN_FIELD: token})
    request, second = _post(user, {"name": "Eastgate", TOKEN_FIELD: token})
    assert Area.objects.filter(name="Eastgate").count() == 1
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert [str(m) for m in get_messages(request)] == [
        "This was already saved; you sent the form twice."
    ]


@pytest.mark.django_db
def test_a_form_sent_back_with_errors_can_be_corrected_and_sent_with_the_same_token():
    user = UserFactory()
    token = str(uuid.uuid4())
    _post(user, {"name": "", TOKEN_FIELD: token})
    assert not SubmissionToken.objects.exists()
    _request, response = _post(user, {"name": "Westgate", TOKEN_FIELD: token})
    assert response.status_code == 302
    assert Area.objects.filter(name="Westgate").count() == 1


@pytest.mark.django_db
def test_another_persons_token_does_not_reveal_their_result():
    token = str(uuid.uuid4())
    _post(UserFactory(), {"name": "Northgate", TOKEN_FIELD: token})
    _request, response = _post(UserFactory(), {"name": "Northgate", TOKEN_FIELD: token})
    assert Area.objects.count() == 1
    assert response["Location"] == "/officer/areas/"


@pytest.mark.django_db
def test_a_missing_or_malformed_token_is_processed_as_usual():
    user = UserFactory()
    _post(user, {"name": "One"})
    _post(user, {"name": "Two", TOKEN_FIELD: "not-a-uuid\x00"})
    assert Area.objects.count() == 2


def test_the_template_tag_renders_a_fresh_hidden_token_each_time():
    template = Template("{% load pb %}{% submission_token %}")
    first, second = template.render(Context()), template.render(Context())
    assert first.startswith('<input type="hidden" name="submission_token" value="')
    assert first != second
