"""The live desk: the change check (cheap, scoped, signed), the pages that poll it, and the
workspace's presence heartbeat with its conflict warning."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases import services
from cases.choices import Stage
from cases.services import live
from tests.factories import CaseFactory, DepartmentFactory

pytestmark = pytest.mark.django_db


def watch_url(html: str) -> str:
    match = re.search(r'data-live-check="([^"]+)" data-live-stamp="([^"]*)"', html)
    assert match, "the page does not watch for changes"
    return match.group(1).replace("&amp;", "&")


def stamp_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.json()["stamp"]


def test_check_costs_at_most_two_queries_and_reports_a_case_write(
    client, frontline, supervisor, django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        case = CaseFactory()
    client.force_login(frontline)
    url = watch_url(client.get(reverse("desk:cases")).content.decode())
    before = stamp_of(client, url)
    with django_assert_max_num_queries(2):  # the session and the user
        assert stamp_of(client, url) == before
    with django_capture_on_commit_callbacks(execute=True):
        services.case_triage(actor=supervisor, case_id=case.pk, urgency=case.urgency,
                             scope=case.scope, difficulty=case.difficulty, tier=3)
    assert stamp_of(client, url) != before


def test_one_transaction_bumps_the_counter_once(django_capture_on_commit_callbacks, supervisor):
    with django_capture_on_commit_callbacks(execute=True):
        case = CaseFactory()  # the counter exists
    before = int(live.live_stamp([live.CASES]))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.case_triage(actor=supervisor, case_id=case.pk, urgency=case.urgency,
                             scope=case.scope, difficulty=case.difficulty, tier=3)
    assert int(live.live_stamp([live.CASES])) == before + 1
    assert sum(live.is_live_flush(cb) for cb in callbacks) == 1


def test_home_list_and_board_pages_watch(client, supervisor):
    client.force_login(supervisor)
    for name in ("desk:home", "desk:cases", "board:index"):
        watch_url(client.get(reverse(name)).content.decode())


def test_liaison_board_watches_only_their_department(client, liaison, supervisor,
                                                     django_capture_on_commit_callbacks):
    mine = DepartmentFactory(code="live-mine", liaison=liaison)
    other = DepartmentFactory(code="live-other")
    client.force_login(liaison)
    url = watch_url(client.get(reverse("board:index")).content.decode())
    before = stamp_of(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        live.live_changed(live.board_key(other.pk), live.CASES, live.BOARD)
    assert stamp_of(client, url) == before  # another department's request changed
    with django_capture_on_commit_callbacks(execute=True):
        live.live_changed(live.board_key(mine.pk))
    assert stamp_of(client, url) != before


def test_check_refuses_anonymous_forged_and_other_users_tokens(client, frontline, frontline2):
    client.force_login(frontline)
    url = watch_url(client.get(reverse("desk:cases")).content.decode())
    client.logout()
    assert client.get(url).status_code in (302, 403)
    client.force_login(frontline2)
    assert client.get(url).status_code == 403  # frontline's token
    assert client.get(reverse("desk:live_check") + "?t=forged").status_code == 403


def test_presence_shows_the_other_viewer_and_the_conflict(client, frontline, supervisor):
    case = CaseFactory()
    url = reverse("desk:case_presence", args=[case.pk])
    client.force_login(frontline)
    assert client.post(url, {"version": case.version}).json()["others"] == []
    client.force_login(supervisor)
    body = client.post(url, {"version": case.version}).json()
    assert body["others"] == [str(frontline)] and body["changed"] is None
    services.case_triage(actor=supervisor, case_id=case.pk, urgency=case.urgency,
                         scope=case.scope, difficulty=case.difficulty, tier=3)
    client.force_login(frontline)
    body = client.post(url, {"version": case.version}).json()
    assert body["others"] == [str(supervisor)]
    assert str(supervisor) in body["changed"] and "reload" in body["changed"]
    client.post(url, {"version": case.version, "leave": "1"})
    client.force_login(supervisor)
    assert client.post(url, {"version": case.version}).json()["others"] == []


def test_workspace_and_action_pages_carry_the_presence_line(client, frontline):
    case = CaseFactory()
    client.force_login(frontline)
    for url in (reverse("desk:case", args=[case.pk]),
                reverse("desk:case_action", args=[case.pk, "triage"])):
        html = client.get(url).content.decode()
        presence = reverse("desk:case_presence", args=[case.pk])
        assert f'data-presence-url="{presence}"' in html


def test_presence_refuses_anonymous_liaisons_and_unseen_cases(client, liaison, frontline):
    case = CaseFactory(stage=Stage.TRIAGED)
    url = reverse("desk:case_presence", args=[case.pk])
    assert client.post(url).status_code in (302, 403)
    client.force_login(liaison)
    assert client.post(url).status_code == 403
    client.force_login(frontline)
    response = client.post(reverse("desk:case_presence", args=[999999]))
    assert response.status_code == 404, response.content.decode()[:3000]


def test_with_a_per_process_cache_the_check_sees_another_process_writes(
    client, frontline, monkeypatch
):
    monkeypatch.setattr(live, "PROBE_SECONDS", 0.0)
    client.force_login(frontline)
    url = watch_url(client.get(reverse("desk:cases")).content.decode())
    first = client.get(url).json()
    CaseFactory()  # its on-commit bump never runs here: as if the worker process wrote it
    second = client.get(url).json()
    assert second["stamp"] == first["stamp"] and second["other"] != first["other"]


def test_presence_does_not_warn_about_the_users_own_save(client, supervisor):
    case = CaseFactory()
    seen = case.version
    services.case_triage(actor=supervisor, case_id=case.pk, urgency=case.urgency,
                         scope=case.scope, difficulty=case.difficulty, tier=3)
    client.force_login(supervisor)
    body = client.post(reverse("desk:case_presence", args=[case.pk]), {"version": seen}).json()
    assert body["changed"] is None and body["version"] == seen + 1
