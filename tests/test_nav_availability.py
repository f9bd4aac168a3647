"""The away switch in every desk page's navigation bar: it shows the agent's current state,
toggles it with a CSRF-protected POST and returns to the page it was sent from."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import AgentProfile
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _nav_state(html: str) -> str:
    match = re.search(r'data-testid="nav-availability" data-away="(\d)"', html)
    assert match, "the navigation bar has no away switch"
    return match.group(1)


@pytest.mark.parametrize("url_name", ["desk:home", "desk:cases", "desk:alerts", "desk:groups"])
def test_every_desk_page_shows_the_agents_state(client, frontline, url_name):
    client.force_login(frontline)
    assert _nav_state(client.get(reverse(url_name)).content.decode()) == "0"
    AgentProfile.objects.create(user=frontline, away=True)
    assert _nav_state(client.get(reverse(url_name)).content.decode()) == "1"


def test_marking_away_from_a_case_page_returns_to_it(client, frontline):
    case = CaseFactory()
    here = reverse("desk:case", args=[case.pk])
    client.force_login(frontline)

    response = client.post(reverse("desk:availability"), {"away": "1", "next": here})

    assert response.status_code == 302 and response.url == here
    assert AgentProfile.objects.get(user=frontline).away
    page = client.get(here).content.decode()
    assert _nav_state(page) == "1" and "no cases are routed to you" in page
    client.post(reverse("desk:availability"), {"away": "0", "next": here})
    assert not AgentProfile.objects.get(user=frontline).away


def test_a_foreign_next_goes_to_the_preferences_page(client, frontline):
    client.force_login(frontline)
    response = client.post(reverse("desk:availability"),
                           {"away": "1", "next": "https://evil.example.com/"})
    assert response.url == reverse("desk:preferences")


def test_the_switch_needs_the_csrf_token(frontline):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(frontline)
    html = strict.get(reverse("desk:home")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html.split('data-testid="nav-availability"')[1][:400]
    response = strict.post(reverse("desk:availability"), {"away": "1"})
    assert response.status_code == 403
    assert not AgentProfile.objects.filter(user=frontline, away=True).exists()


def test_no_switch_for_a_liaison(client, liaison):
    client.force_login(liaison)
    board = client.get(reverse("board:index")).content.decode()
    assert 'data-testid="nav-availability"' not in board


def test_the_navbar_counts_unread_alerts_only(client, frontline):
    """The unread count reads the unread alerts (a subquery over the recipient/read index),
    never every alert the user ever had (a join: 0.6 s for a supervisor at 1M cases)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from cases.models import Alert

    now = timezone.now()
    Alert.objects.bulk_create([Alert(recipient=frontline, kind="at_risk", message=f"m{i}",
                                     created_at=now, read_at=now if i % 2 else None)
                               for i in range(6)])
    client.force_login(frontline)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(reverse("desk:home")).content.decode()
    assert not [q for q in ctx.captured_queries
                if re.search(r'JOIN "cases_alert"', q["sql"])]
    assert re.search(r'data-testid="nav-alerts">.*?badge[^>]*>3</span>', html, re.S)
