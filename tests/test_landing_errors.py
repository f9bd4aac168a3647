"""Issue 16, item 1: after sign-in each role lands on its own home; 403/404/500 are styled
pages in the user's language with the navigation and a way back; a favicon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from cases.choices import Role
from complaints_project import errors
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    yield
    translation.deactivate()


def _sign_in(client, user) -> str:
    """Signs in through the login form; returns where the landing sent the user."""
    user.set_password("pass12345")
    user.save()
    response = client.post(reverse("login"), {"username": user.username,
                                               "password": "pass12345"}, follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0]


@pytest.mark.parametrize(("role", "home"), [
    (Role.FRONTLINE, "/desk/"), (Role.SENIOR, "/desk/"), (Role.SUPERVISOR, "/desk/"),
    (Role.LIAISON, "/board/"),
])
def test_each_desk_role_lands_on_its_home(client, role, home):
    assert _sign_in(client, UserFactory(username=f"u-{role}", role=role)) == home


def test_an_admin_with_a_desk_role_lands_on_the_desk_with_a_link_to_the_admin(client):
    user = UserFactory(username="ops-boss", role=Role.SUPERVISOR, is_staff=True)
    assert _sign_in(client, user) == "/desk/"
    body = client.get("/desk/").content.decode()
    assert f'href="{reverse("admin:index")}" data-testid="admin-link"' in body


def test_an_admin_without_a_desk_role_lands_in_the_admin_and_errors_lead_back_there(
    client, admin_user
):
    assert _sign_in(client, admin_user) == reverse("admin:index")
    response = client.get("/desk/")
    assert response.status_code == 403
    assert f'href="{reverse("admin:index")}" data-testid="error-home"' in response.content.decode()
    home = client.get(reverse("account_home"))
    assert home.status_code == 200 and 'data-testid="admin-sections"' in home.content.decode()


def test_a_user_with_no_role_gets_a_clear_page_not_a_403(client):
    assert _sign_in(client, UserFactory(username="nobody", role=None)) == "/home/"
    response = client.get("/home/")
    assert response.status_code == 200
    assert "Your account has no role yet" in response.content.decode()


def test_the_brand_link_goes_to_the_landing_so_a_liaison_never_meets_the_desk(client, liaison):
    client.force_login(liaison)
    body = client.get("/board/").content.decode()
    assert f'class="navbar-brand" href="{reverse("landing")}"' in body


# --- error pages -------------------------------------------------------------------------------
def test_403_is_a_styled_page_with_the_reason_and_the_way_home(client, liaison):
    client.force_login(liaison)
    response = client.get("/desk/")
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and 'class="navbar' in body
    assert "The agent desk is for agents." in body
    assert 'href="/board/" data-testid="error-home"' in body


def test_404_leaks_nothing_about_what_was_looked_for(client, frontline):
    client.force_login(frontline)
    response = client.get(reverse("desk:case", args=[987654]))
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and 'href="/desk/" data-testid="error-home"' in body
    assert "No such case" not in body
    # The address appears only as the language and away switches' way back to it.
    assert body.count("987654") == 2
    assert 'name="next" value="/desk/cases/987654/"' in body
    assert 'name="next" type="hidden" value="/desk/cases/987654/"' in body


def test_404_for_a_visitor_offers_the_public_pages(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and reverse("channels:complain") in body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_error_pages_speak_the_users_language(client, language):
    agent = UserFactory(username=f"lang-{language}", role=Role.FRONTLINE, language=language)
    liaison = UserFactory(username=f"lia-{language}", role=Role.LIAISON, language=language)
    client.force_login(agent)
    not_found = client.get(reverse("desk:case", args=[987654])).content.decode()
    client.force_login(liaison)
    forbidden = client.get("/desk/").content.decode()
    with translation.override(language):
        assert f'<html lang="{language}">' in not_found
        assert gettext("Page not found") in not_found
        assert gettext("You may not open this page") in forbidden
        assert gettext("Desk") in not_found  # the navigation, translated
    if language == "zh-hans":
        assert "工作台" in not_found and "看板" in forbidden


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_500_renders_without_a_request_context_or_database(language,
                                                           django_assert_num_queries):
    with translation.override(language), django_assert_num_queries(0):
        response = errors.server_error(RequestFactory().get("/"))
        expected = gettext("Something went wrong on our side")
    assert response.status_code == 500
    body = response.content.decode()
    assert f'<html lang="{language}">' in body and expected in body
    assert 'href="/"' in body and "/static/" not in body


def test_the_favicon_is_linked_and_answers_at_the_root(client):
    body = client.get(reverse("login")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in body
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


PRODUCTION_CHECK = """
import django
django.setup()
from django.core.management import call_command
call_command("collectstatic", "--noinput", verbosity=0)
from django.test import Client, RequestFactory
from complaints_project import errors
client = Client()
missing = client.get("/no-such-page/", secure=True)
assert missing.status_code == 404, missing.status_code
body = missing.content.decode()
assert 'data-testid="error-page"' in body and "/static/css/desk." in body, body[:500]
icon = client.get("/favicon.ico", secure=True)
assert icon.status_code == 301 and ".ico" in icon["Location"], icon
assert client.get(icon["Location"], secure=True).status_code == 200
crash = errors.server_error(RequestFactory().get("/"))
assert crash.status_code == 500 and b"500" in crash.content
print("ok")
"""


def test_error_pages_and_favicon_under_the_production_settings(tmp_path):
    """DEBUG=False, WhiteNoise's manifest storage after collectstatic: the 404 page's
    {% static %} links resolve, /favicon.ico redirects to the hashed icon, 500 renders."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DJANGO_SETTINGS_MODULE": "complaints_project.settings.prod",
        "SECRET_KEY": "k3Y!production-abcdefghijklmnopqrstuvwxyz0123456789-for-tests-only",
        "ALLOWED_HOSTS": "testserver",
        # Never connected to: the pages checked here read no table.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "COMPLAINTS_VAR_DIR": str(tmp_path),
    })
    result = subprocess.run([sys.executable, "-c", PRODUCTION_CHECK], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
