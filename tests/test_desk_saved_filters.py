"""Saved filters of the desk list: save, list, apply, rename, delete -- each user's own."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from cases.choices import Stage, Tier
from cases.models import SavedFilter
from cases.services import saved_filters as saved_service
from tests.factories import CaseFactory, SavedFilterFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _save(client, query: str, name: str):
    return client.post(reverse("desk:saved_filters"), {"query": query, "name": name})


@pytest.fixture
def agent_client(client, frontline):
    client.force_login(frontline)
    return client


def test_saving_the_filters_on_screen_keeps_only_the_list_filters(agent_client, frontline):
    # Given a list filtered by tier and channel, on page 3
    query = "tier=1&channel=hotline&page=3&utm=x&stage="
    # When the agent saves it under a name
    response = _save(agent_client, query, "  Urgent   hotline ")
    # Then the filters are stored (page, unknown and empty parameters dropped), name tidied
    saved = SavedFilter.objects.get(owner=frontline)
    assert saved.name == "Urgent hotline"
    assert parse_qs(saved.query) == {"channel": ["hotline"], "tier": ["1"]}
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"channel": ["hotline"],
                                                              "tier": ["1"]}
    assert "Filters saved as “Urgent hotline”." in _messages(response)


def test_the_list_offers_to_save_the_current_filters_and_shows_saved_ones(agent_client,
                                                                          frontline):
    SavedFilterFactory(owner=frontline, name="Fast lane", query="queue=fast_lane&sort=due")
    response = agent_client.get(reverse("desk:cases"), {"queue": "fast_lane"})
    html = response.content.decode()
    assert response.context["current_query"] == "queue=fast_lane&sort=due"
    assert 'data-testid="save-filter"' in html
    assert 'name="query" value="queue=fast_lane&amp;sort=due"' in html
    # the saved filter matching the list on screen is marked as the current one
    assert 'data-saved-filter="Fast lane" aria-current="true"' in html


def test_applying_a_saved_filter_opens_the_list_with_its_filters(agent_client, frontline):
    urgent = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.URGENT)
    CaseFactory(stage=Stage.ASSIGNED, tier=Tier.ROUTINE)
    saved = SavedFilterFactory(owner=frontline, query="queue=open&tier=1")
    response = agent_client.get(reverse("desk:saved_filter", args=[saved.pk]), follow=True)
    assert response.status_code == 200
    assert [c.pk for c in response.context["cases"]] == [urgent.pk]


def test_saved_filters_are_listed_on_the_desk_home(agent_client, frontline, frontline2):
    SavedFilterFactory(owner=frontline, name="Mine overdue")
    SavedFilterFactory(owner=frontline2, name="Not yours")
    html = agent_client.get(reverse("desk:home")).content.decode()
    assert 'data-saved-filter="Mine overdue"' in html
    assert "Not yours" not in html


def test_rename_and_delete_my_saved_filter(agent_client, frontline):
    saved = SavedFilterFactory(owner=frontline, name="Old")
    response = agent_client.post(reverse("desk:saved_filter_rename", args=[saved.pk]),
                                 {"name": "New"})
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.name == "New"
    response = agent_client.post(reverse("desk:saved_filter_delete", args=[saved.pk]))
    assert "Saved filter “New” deleted." in _messages(response)
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()


@pytest.mark.parametrize("url_name,method", [
    ("desk:saved_filter", "get"),
    ("desk:saved_filter_rename", "post"),
    ("desk:saved_filter_delete", "post"),
])
def test_somebody_elses_saved_filter_is_not_found(agent_client, frontline2, url_name, method):
    theirs = SavedFilterFactory(owner=frontline2, name="Theirs")
    response = getattr(agent_client, method)(reverse(url_name, args=[theirs.pk]),
                                             {"name": "Stolen"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_the_manage_page_says_what_each_saved_filter_selects(agent_client, frontline):
    from tests.factories import DepartmentFactory

    dept = DepartmentFactory(code="logistics", name="物流部", name_en="Logistics")
    SavedFilterFactory(owner=frontline, name="Mine",
                       query=f"department={dept.pk}&queue=fast_lane&tier=1")
    response = agent_client.get(reverse("desk:saved_filters"))
    summary = dict(response.context["saved_filters"][0].summary)
    assert summary["Queue"] == "Fast lane (tier 1)"
    assert summary["Tier"] == str(Tier(1).label)
    assert summary["Department"] == str(dept)


def test_the_manage_page_lists_only_my_saved_filters(agent_client, frontline, frontline2):
    SavedFilterFactory(owner=frontline, name="B mine")
    SavedFilterFactory(owner=frontline, name="A mine")
    SavedFilterFactory(owner=frontline2, name="Theirs")
    response = agent_client.get(reverse("desk:saved_filters"))
    assert [sf.name for sf in response.context["saved_filters"]] == ["A mine", "B mine"]
    assert "Theirs" not in response.content.decode()


def test_two_users_may_use_the_same_name(client, frontline, frontline2):
    SavedFilterFactory(owner=frontline2, name="Today")
    client.force_login(frontline)
    _save(client, "tier=2", "Today")
    assert SavedFilter.objects.filter(name="Today").count() == 2


@pytest.mark.parametrize("query,name,message", [
    ("tier=1", "", "Give the saved filter a name."),
    ("tier=1", "x" * 81, "A name has at most 80 characters."),
    ("tier=1", "Taken", "You already have a saved filter named “Taken”."),
    ("page=2", "Nothing", "Choose some filters before saving them."),
    ("tier=9", "Bad tier", "These filters cannot be saved: Tier: Select a valid choice."),
    ("queue=breached", "Supervision", "These filters cannot be saved: This queue is for "
                                      "supervisors."),
])
def test_bad_saves_are_refused_with_a_message(agent_client, frontline, query, name, message):
    SavedFilterFactory(owner=frontline, name="Taken")
    response = _save(agent_client, query, name)
    assert response.status_code == 302
    assert any(m.startswith(message) for m in _messages(response)), _messages(response)
    assert SavedFilter.objects.filter(owner=frontline).count() == 1


def test_rename_to_a_taken_or_empty_name_is_refused(agent_client, frontline):
    SavedFilterFactory(owner=frontline, name="Taken")
    mine = SavedFilterFactory(owner=frontline, name="Mine")
    for name, message in (("Taken", "You already have a saved filter named “Taken”."),
                          ("  ", "Give the saved filter a name."),
                          ("\x00", "Give the saved filter a name."),
                          ("x" * 81, "A name has at most 80 characters.")):
        response = agent_client.post(reverse("desk:saved_filter_rename", args=[mine.pk]),
                                     {"name": name})
        assert message in _messages(response)
    mine.refresh_from_db()
    assert mine.name == "Mine"


def test_a_nul_in_a_name_is_never_stored(agent_client, frontline):
    """Names are cleaned as intake cleans text: PostgreSQL refuses NUL (it was a 500)."""
    response = _save(agent_client, "tier=1", "a\x00b")
    assert response.status_code == 302
    assert SavedFilter.objects.get(owner=frontline).name == "ab"


def test_there_is_a_limit_per_user(agent_client, frontline, monkeypatch):
    monkeypatch.setattr(saved_service, "MAX_SAVED_FILTERS", 2)
    SavedFilterFactory(owner=frontline)
    SavedFilterFactory(owner=frontline)
    response = _save(agent_client, "tier=1", "Third")
    assert "You have 2 saved filters, the most there can be: delete one first." in _messages(
        response)
    assert SavedFilter.objects.filter(owner=frontline).count() == 2


def test_a_supervisor_may_save_a_supervision_queue(client, supervisor):
    client.force_login(supervisor)
    _save(client, "queue=breached", "Breached")
    assert SavedFilter.objects.get(owner=supervisor).query == "queue=breached"


@pytest.mark.parametrize("url_name,method,args", [
    ("desk:saved_filters", "get", []),
    ("desk:saved_filters", "post", []),
    ("desk:saved_filter", "get", [1]),
])
def test_a_liaison_has_no_saved_filters(client, liaison, url_name, method, args):
    client.force_login(liaison)
    response = getattr(client, method)(reverse(url_name, args=args), {"query": "tier=1",
                                                                      "name": "x"})
    assert response.status_code == 403
    assert not SavedFilter.objects.exists()


def test_saved_filter_pages_in_chinese(agent_client, frontline):
    SavedFilterFactory(owner=frontline, name="我的")
    frontline.language = "zh-hans"
    frontline.save()
    # The desk activates the user's language for the request; keep it from leaking into the
    # tests that run after this one in the same thread.
    with translation.override(translation.get_language()):
        html = agent_client.get(reverse("desk:saved_filters")).content.decode()
    assert "已保存的筛选" in html
