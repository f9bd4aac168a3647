"""Login throttling (django-axes) on the desk and admin logins, and the password reset."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture(autouse=True)
def login_limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 20
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def _login(client, url, username, password, ip="10.0.0.1", **extra):
    return client.post(url, {"username": username, "password": password},
                       REMOTE_ADDR=ip, **extra)


def _fail(client, url, username, times, ip="10.0.0.1"):
    """Wrong passwords; the last one that reaches the limit already gets the lockout page."""
    codes = [_login(client, url, username, "wrong-password", ip=ip).status_code
             for _ in range(times)]
    assert codes == [200] * (times - 1) + [429]


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_the_right_password_is_refused_after_the_failure_limit(client, url):
    UserFactory(username="amy", is_staff=True)
    _fail(client, url, "amy", LIMIT)
    response = _login(client, url, "amy", "pass12345")
    assert response.status_code == 429
    assert 'data-testid="login-locked"' in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_after_the_cool_off_the_right_password_works(client):
    UserFactory(username="amy")
    _fail(client, "/accounts/login/", "amy", LIMIT)
    assert _login(client, "/accounts/login/", "amy", "pass12345").status_code == 429
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert _login(client, "/accounts/login/", "amy", "pass12345").status_code == 302


def test_a_locked_username_stays_locked_from_another_address(client):
    UserFactory(username="amy")
    _fail(client, "/accounts/login/", "amy", LIMIT, ip="10.0.0.1")
    assert _login(client, "/accounts/login/", "amy", "pass12345", ip="10.9.9.9").status_code == 429


def test_another_user_behind_the_same_address_is_not_locked(client):
    UserFactory(username="amy")
    UserFactory(username="bob")
    _fail(client, "/accounts/login/", "amy", LIMIT)
    assert _login(client, "/accounts/login/", "bob", "pass12345").status_code == 302


def test_a_colleague_signing_in_does_not_reset_another_usernames_count(client):
    UserFactory(username="amy")
    UserFactory(username="bob")
    for _ in range(LIMIT - 1):
        _login(client, "/accounts/login/", "amy", "wrong-password")
    assert _login(client, "/accounts/login/", "bob", "pass12345").status_code == 302
    client.logout()
    assert _login(client, "/accounts/login/", "amy", "wrong-password").status_code == 429


def test_an_address_trying_many_usernames_is_locked(client):
    UserFactory(username="bob")
    for n in range(20):
        _login(client, "/accounts/login/", f"guess{n}", "wrong-password")
    assert _login(client, "/accounts/login/", "bob", "pass12345").status_code == 429
    assert _login(client, "/accounts/login/", "bob", "pass12345",
                  ip="10.0.0.2").status_code == 302


def test_behind_a_proxy_the_forwarded_client_address_is_counted(client, settings):
    settings.CHANNELS_TRUSTED_PROXY_COUNT = 1
    UserFactory(username="bob")
    for n in range(20):
        _login(client, "/accounts/login/", f"guess{n}", "x", ip="192.168.0.1",
               HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").exists()
    # Another client behind the same proxy still signs in.
    assert _login(client, "/accounts/login/", "bob", "pass12345", ip="192.168.0.1",
                  HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302


@pytest.mark.parametrize("forwarded", ["not-an-address", "", "1.2.3.4, <script>"])
def test_a_mangled_forwarded_address_is_a_refusal_not_a_500(client, settings, forwarded):
    settings.CHANNELS_TRUSTED_PROXY_COUNT = 1
    UserFactory(username="bob")
    response = _login(client, "/accounts/login/", "bob", "wrong", ip="192.168.0.1",
                      HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == "192.168.0.1"
    assert _login(client, "/accounts/login/", "bob", "pass12345", ip="192.168.0.1",
                  HTTP_X_FORWARDED_FOR=forwarded).status_code == 302


def test_an_admin_unlocks_a_user_in_the_admin(client, admin_user):
    UserFactory(username="amy")
    _fail(client, "/accounts/login/", "amy", LIMIT)
    admin = client.__class__()
    admin.force_login(admin_user)
    ids = list(AccessAttempt.objects.filter(username="amy").values_list("pk", flat=True))
    response = admin.post("/admin/axes/accessattempt/", {
        "action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert response.status_code == 302
    assert _login(client, "/accounts/login/", "amy", "pass12345").status_code == 302


def test_the_lockout_page_is_translated(client):
    UserFactory(username="amy")
    _fail(client, "/accounts/login/", "amy", LIMIT)
    response = _login(client, "/accounts/login/", "amy", "pass12345",
                      HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 429
    assert 'data-testid="login-locked"' in response.content.decode()


# --- Password reset -------------------------------------------------------------------------

def test_the_login_page_links_to_the_password_reset(client):
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()


def test_a_reset_mail_goes_to_the_user_and_its_link_sets_a_new_password(client):
    user = UserFactory(username="amy", email="amy@example.com")
    response = client.post("/accounts/password_reset/", {"email": "amy@example.com"},
                           follow=True)
    assert 'data-testid="reset-sent"' in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["amy@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {
        "new_password1": "a-new-Secret-42", "new_password2": "a-new-Secret-42"}, follow=True)
    assert 'data-testid="reset-complete"' in done.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-new-Secret-42")
    # The link works once.
    again = client.get(link, follow=True)
    assert 'data-testid="reset-link-invalid"' in again.content.decode()


def test_an_unknown_address_shows_the_same_sent_page_and_sends_nothing(client):
    UserFactory(username="amy", email="amy@example.com")
    known = client.post("/accounts/password_reset/", {"email": "amy@example.com"}, follow=True)
    mail.outbox.clear()
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.com"},
                          follow=True)
    assert unknown.redirect_chain == known.redirect_chain
    assert 'data-testid="reset-sent"' in unknown.content.decode()
    assert mail.outbox == []


def test_a_malformed_reset_address_is_a_form_error(client):
    response = client.post("/accounts/password_reset/", {"email": "not-an-address"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert mail.outbox == []
