"""The password-reset request is limited per client address and per e-mail address: past
either limit the form answers 429 with Retry-After and no mail is sent."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.CHANNELS_RATE_LIMITS = {"password_reset": "4/3600", "password_reset_email": "2/3600"}


def reset(client, email, address="203.0.113.7"):
    return client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=address)


def test_one_inbox_gets_at_most_its_limit_of_reset_mails_from_any_address(client, limits):
    UserFactory(username="amy", email="amy@example.com")
    answers = [reset(client, "Amy@example.com", f"203.0.113.{n}").status_code for n in range(3)]
    assert answers == [302, 302, 429] and len(mail.outbox) == 2


def test_one_address_is_refused_past_its_limit_whatever_the_e_mail(client, limits):
    answers = [reset(client, f"user{n}@example.com").status_code for n in range(5)]
    assert answers == [302, 302, 302, 302, 429]
    refused = reset(client, "other@example.com")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many reset requests" in refused.content.decode()
    assert reset(client, "other@example.com", "198.51.100.1").status_code == 302
