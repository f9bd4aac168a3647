"""Webhook endpoints and deliveries in the admin, bad input refused clearly, and the payload
reference page next to the API docs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from standardwebhooks import Webhook

from channels.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from channels.webhooks.services.endpoints import endpoint_create
from tests.factories import CaseFactory
from tests.webhook_receiver import running_receiver

pytestmark = pytest.mark.django_db

ADD = "admin:webhooks_webhookendpoint_add"
ROOT = Path(__file__).resolve().parent.parent


def _form(**overrides):
    data = {"url": "https://crm.example.cn/hooks", "description": "CRM",
            "events": ["case.received", "case.resolved"], "is_active": "on",
            "disable_after_failures": "10", "receiver_dedupes": "on"}
    data.update(overrides)
    return data


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_adding_an_endpoint_shows_its_secret_once(admin_client):
    response = admin_client.post(reverse(ADD), _form(), follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["case.received", "case.resolved"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{44}", endpoint.secret)
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(reverse("admin:webhooks_webhookendpoint_change",
                                    args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in page and endpoint.secret[:10] in page


@pytest.mark.parametrize(("overrides", "message"), [
    ({"url": "not a url"}, "Enter a full web address"),
    ({"url": "ftp://crm.example.cn/x"}, "Enter a full web address"),
    ({"url": ""}, "This field is required"),
    ({"events": []}, "This field is required"),
    ({"events": ["case.exploded"]}, "Select a valid choice"),
    ({"disable_after_failures": "0"}, "greater than or equal to 1"),
])
def test_bad_input_is_refused_clearly(admin_client, overrides, message):
    response = admin_client.post(reverse(ADD), _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("url", "message"), [
    ("http://crm.example.cn/hooks", "must use https in production"),
    ("https://127.0.0.1/hooks", "not a local or private address"),
    ("https://10.1.2.3/hooks", "not a local or private address"),
    ("https://localhost/hooks", "not a local or private address"),
])
def test_production_refuses_http_and_private_addresses(admin_client, settings, url, message):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    response = admin_client.post(reverse(ADD), _form(url=url))
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_production_settings_require_https():
    env = {"DJANGO_SETTINGS_MODULE": "complaints_project.settings.prod",
           "SECRET_KEY": "k" * 40 + "abcdefghijklmnop", "DATABASE_URL": "postgres://x@h/d",
           "CELERY_BROKER_URL": "redis://h:6379/0", "PATH": "/usr/bin:/bin",
           "ALLOWED_HOSTS": "complaints.example.cn"}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; "
         "print(settings.WEBHOOK_REQUIRE_HTTPS)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "True", out.stderr[-2000:]


def test_someone_without_the_permission_cannot_add(client, frontline):
    frontline.is_staff = True
    frontline.save()
    client.force_login(frontline)
    assert client.post(reverse(ADD), _form()).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_the_test_event_action_sends_a_signed_test(admin_client, admin_user,
                                                   django_capture_on_commit_callbacks):
    with running_receiver() as receiver:
        endpoint = endpoint_create(actor=admin_user, url=receiver.url, events=["case.closed"])
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:webhooks_webhookendpoint_changelist"),
                              {"action": "send_test_event", "_selected_action": [endpoint.pk]})
        [request] = receiver.requests
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["type"] == \
        "webhook.test"


def test_rotating_the_secret_shows_the_new_one(admin_client, admin_user):
    endpoint = endpoint_create(actor=admin_user, url="https://crm.example.cn/h",
                               events=["case.closed"])
    old = endpoint.secret
    response = admin_client.post(reverse("admin:webhooks_webhookendpoint_changelist"),
                                 {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
                                 follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()


def test_deliveries_show_status_code_and_error_and_can_be_sent_again(
    admin_client, admin_user, django_assert_max_num_queries, django_capture_on_commit_callbacks,
):
    with running_receiver() as receiver:
        endpoint = endpoint_create(actor=admin_user, url=receiver.url,
                                   events=list(WebhookEvent.values))
        for _ in range(5):
            CaseFactory()
        WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, attempts=8,
                                       response_code=503, last_error="HTTP 503 Unavailable")
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        with django_assert_max_num_queries(12):
            page = admin_client.get(url).content.decode()
        assert "503" in page and "HTTP 503 Unavailable" in page
        delivery = WebhookDelivery.objects.first()
        detail = admin_client.get(reverse("admin:webhooks_webhookdelivery_change",
                                          args=[delivery.pk])).content.decode()
        assert delivery.message_id in detail

        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(url, {"action": "send_again",
                                               "_selected_action": [str(delivery.pk)]},
                                         follow=True)
        assert "queued again" in response.content.decode()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT and delivery.response_code == 200
        assert receiver.ids() == [delivery.message_id]
        assert Webhook(endpoint.secret).verify(receiver.requests[0].body,
                                               receiver.requests[0].headers)

        # A delivered one is not sent again; the refusal is a message, not an error page.
        response = admin_client.post(url, {"action": "send_again",
                                           "_selected_action": [str(delivery.pk)]}, follow=True)
        assert response.status_code == 200
        assert any("Only a failed, held or uncertain delivery" in str(m)
                   for m in get_messages(response.wsgi_request))


def test_the_reference_page_lists_every_event_with_an_example(client):
    page = client.get(reverse("webhooks:docs")).content.decode()
    for event in WebhookEvent.values:
        assert f"<code>{event}</code>" in page
    assert "webhook-signature" in page and "v1," in page
    assert reverse("webhooks:docs") in client.get(reverse("channels:api_docs")).content.decode()


def test_the_documented_case_fields_are_those_sent(admin_user):
    from channels.webhooks.docs import EXAMPLE_CASE, example_event

    endpoint_create(actor=admin_user, url="https://crm.example.cn/h",
                    events=list(WebhookEvent.values))
    CaseFactory()
    sent = WebhookDelivery.objects.get().payload
    documented = example_event("case.received").payload()
    assert set(sent["data"]["case"]) == set(EXAMPLE_CASE)
    assert set(sent["data"]) == set(documented["data"])
    assert set(sent["data"]["change"]) == set(documented["data"]["change"])
    assert set(sent) == set(documented)


def test_endpoint_changes_are_audited_without_the_secret(admin_client):
    from cases.models.audit import AuditEntry

    admin_client.post(reverse(ADD), _form())
    endpoint = WebhookEndpoint.objects.get()
    admin_client.post(reverse("admin:webhooks_webhookendpoint_changelist"),
                      {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    entries = list(AuditEntry.objects.filter(
        target_type="webhooks.WebhookEndpoint", target_id=str(endpoint.pk)).order_by("id"))
    assert [e.action for e in entries] == ["create", "change"]
    assert entries[0].actor_id is not None
    assert entries[0].changes["url"][1] == "https://crm.example.cn/hooks"
    assert "secret_rotated_at" in entries[1].changes
    text = str([(e.changes, e.detail) for e in entries])
    assert "whsec_" not in text and "(secret)" in text
