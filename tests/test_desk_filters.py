"""The desk's case list: every filter, the text search, sorting, pagination and counts."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.choices import Category, ChannelKind, SlaState, Stage, Tier
from cases.models import Case, ComplaintGroup, Customer
from cases.views import desk as desk_views
from tests.factories import CaseFactory, DepartmentFactory, set_clocks, sync_case_clocks

pytestmark = pytest.mark.django_db


def _pks(client, **params):
    params.setdefault("queue", "all")
    response = client.get(reverse("desk:cases"), params)
    assert response.status_code == 200, response.content[:500]
    return [c.pk for c in response.context["cases"]]


@pytest.fixture
def agent_client(client, frontline):
    client.force_login(frontline)
    return client


def test_filter_by_tier_and_stage(agent_client):
    urgent = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.URGENT)
    routine = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.ROUTINE)
    received = CaseFactory()
    assert _pks(agent_client, tier=1) == [urgent.pk]
    assert set(_pks(agent_client, stage=Stage.ASSIGNED)) == {urgent.pk, routine.pk}
    assert _pks(agent_client, stage=Stage.RECEIVED) == [received.pk]


def test_filter_by_channel_and_category(agent_client, frontline):
    hotline = CaseFactory(channel_kind=ChannelKind.HOTLINE, actor=frontline,
                          category=Category.BILLING)
    web = CaseFactory(channel_kind=ChannelKind.WEB, category=Category.DELIVERY)
    assert _pks(agent_client, channel=ChannelKind.HOTLINE) == [hotline.pk]
    assert _pks(agent_client, category=Category.DELIVERY) == [web.pk]


def test_filter_by_department_and_owner(agent_client, frontline, frontline2):
    dept = DepartmentFactory(code="logistics")
    in_dept = CaseFactory(stage=Stage.ASSIGNED, tier=Tier.URGENT)  # the factory's department
    Case.objects.filter(pk=in_dept.pk).update(department=dept)
    owned = CaseFactory(actor=frontline2, channel_kind=ChannelKind.HOTLINE)
    CaseFactory(actor=frontline, channel_kind=ChannelKind.HOTLINE)
    assert _pks(agent_client, department=dept.pk) == [in_dept.pk]
    assert _pks(agent_client, owner=frontline2.pk) == [owned.pk]


def test_filter_by_deadline_state(agent_client):
    breached, at_risk, on_time = (CaseFactory(stage=Stage.IN_PROGRESS) for _ in range(3))
    set_clocks(breached, state=SlaState.BREACHED, due_in=timedelta(hours=-1))
    set_clocks(at_risk, state=SlaState.AT_RISK, risk_in=timedelta(hours=-1),
               due_in=timedelta(hours=2))
    set_clocks(on_time, due_in=timedelta(hours=5))
    closed = CaseFactory(stage=Stage.CLOSED)  # no running clock: on time
    assert _pks(agent_client, deadline=SlaState.BREACHED) == [breached.pk]
    assert _pks(agent_client, deadline=SlaState.AT_RISK) == [at_risk.pk]
    assert set(_pks(agent_client, deadline=SlaState.ON_TIME)) == {on_time.pk, closed.pk}


def test_deadline_state_follows_the_running_clocks_not_the_unindexed_sla_state(agent_client):
    """``Case.sla_state`` stays out of every index (HOT sweep updates), so the filter does
    not read it: a stale copy neither hides nor invents a breach."""
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    set_clocks(case, state=SlaState.BREACHED, due_in=timedelta(hours=-1))
    Case.objects.filter(pk=case.pk).update(sla_state=SlaState.ON_TIME)
    assert _pks(agent_client, deadline=SlaState.BREACHED) == [case.pk]
    case.deadlines.update(stopped_at=timezone.now())  # every clock stopped: nothing running
    sync_case_clocks(case)
    Case.objects.filter(pk=case.pk).update(sla_state=SlaState.BREACHED)
    assert _pks(agent_client, deadline=SlaState.BREACHED) == []
    assert _pks(agent_client, deadline=SlaState.ON_TIME) == [case.pk]


def test_filter_by_received_date_range_in_the_users_time_zone(agent_client, frontline):
    frontline.time_zone = "Asia/Shanghai"
    frontline.save()
    old, new = CaseFactory(), CaseFactory()
    # 2026-03-01 23:30 in Shanghai is 15:30 UTC the same day.
    shanghai_late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    Case.objects.filter(pk=old.pk).update(received_at=shanghai_late)
    Case.objects.filter(pk=new.pk).update(received_at=shanghai_late + timedelta(days=10))
    assert _pks(agent_client, received_after="2026-03-01", received_before="2026-03-01") == [
        old.pk]
    assert _pks(agent_client, received_after="2026-03-02") == [new.pk]


def test_filter_key_customers_and_group_complaints(agent_client):
    key = CaseFactory(key_customer=True)
    grouped = CaseFactory()
    plain = CaseFactory()
    group = ComplaintGroup.objects.create(key="delivery:so-1", category=Category.DELIVERY,
                                          matter="so-1", first_received_at=timezone.now(),
                                          last_received_at=timezone.now(), case_count=5)
    Case.objects.filter(pk=grouped.pk).update(group=group)
    assert _pks(agent_client, key_customer="true") == [key.pk]
    assert plain.pk in _pks(agent_client, key_customer="false")
    assert _pks(agent_client, group="true") == [grouped.pk]
    assert grouped.pk not in _pks(agent_client, group="false")


@pytest.mark.parametrize("field", ["reference", "subject", "description", "name", "phone",
                                   "email"])
def test_text_search_covers_reference_subject_description_and_customer(agent_client, field):
    target = CaseFactory(subject="屏幕出现裂痕", description="收到的手机屏幕有一道裂痕。",
                         customer_name="欧阳娜娜", phone="13912345678",
                         email="ouyang@example.org")
    CaseFactory(subject="发票抬头错误", description="开具的发票抬头写错了。")
    query = {
        "reference": target.reference[3:], "subject": "出现裂痕", "description": "一道裂痕",
        "name": "欧阳娜", "phone": "12345678", "email": "OUYANG@example",
    }[field]
    assert _pks(agent_client, q=query) == [target.pk]


def test_searching_an_exact_reference_opens_the_case(agent_client):
    case = CaseFactory()
    response = agent_client.get(reverse("desk:cases"), {"q": case.reference.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:case", args=[case.pk])


def test_default_sort_is_nearest_due_first_with_no_deadline_last(agent_client):
    now = timezone.now()
    later, sooner, none = (CaseFactory() for _ in range(3))
    Case.objects.filter(pk=later.pk).update(next_due_at=now + timedelta(hours=5))
    Case.objects.filter(pk=sooner.pk).update(next_due_at=now + timedelta(hours=1))
    Case.objects.filter(pk=none.pk).update(next_due_at=None)
    assert _pks(agent_client) == [sooner.pk, later.pk, none.pk]


def test_other_sorts(agent_client):
    a, b = CaseFactory(), CaseFactory()
    Case.objects.filter(pk=a.pk).update(received_at=timezone.now() - timedelta(days=2))
    assert _pks(agent_client, sort="-received") == [b.pk, a.pk]
    assert _pks(agent_client, sort="received") == [a.pk, b.pk]
    assert len(_pks(agent_client, sort="tier")) == 2
    assert len(_pks(agent_client, sort="-updated")) == 2


def test_pagination_and_count(agent_client):
    for _ in range(12):
        CaseFactory()
    response = agent_client.get(reverse("desk:cases"), {"per_page": 10, "page": 2})
    assert response.context["count"] == 12
    assert len(response.context["cases"]) == 2
    assert "12 cases" in response.content.decode()


def test_a_count_past_the_cap_says_more_than(agent_client, monkeypatch):
    monkeypatch.setattr(desk_views, "COUNT_CAP", 3)
    monkeypatch.setattr(selectors, "estimated_count", lambda qs: None)  # SQLite has none
    for _ in range(5):
        CaseFactory()
    response = agent_client.get(reverse("desk:cases"), {"per_page": 10})
    assert response.context["capped"] is True
    assert "More than 3 cases" in response.content.decode()


@pytest.mark.parametrize("queue", ["open", "all"])
def test_lists_count_exactly_up_to_the_cap(agent_client, monkeypatch, queue):
    monkeypatch.setattr(desk_views, "COUNT_CAP", 5)
    for _ in range(5):
        CaseFactory()
    response = agent_client.get(reverse("desk:cases"), {"queue": queue})
    assert (response.context["count"], response.context["capped"]) == (5, False)
    assert "5 cases" in response.content.decode()


def test_a_long_list_shows_the_estimate_and_pages_past_the_cap(agent_client, monkeypatch):
    """Past the exact count's cap the list says "about N" (the planner's estimate) and its
    pages run over the estimate: the last rows are reachable, not cut at the cap."""
    monkeypatch.setattr(desk_views, "COUNT_CAP", 3)
    monkeypatch.setattr(selectors, "estimated_count", lambda qs: 12_345)
    cases = [CaseFactory() for _ in range(12)]
    response = agent_client.get(reverse("desk:cases"), {"per_page": 10, "sort": "received"})
    html = response.content.decode()
    assert response.context["estimated"] is True
    assert "About 12,000 cases" in html and "Page 1 of about 1,235" in html
    second = agent_client.get(reverse("desk:cases"),
                              {"per_page": 10, "sort": "received", "page": 2})
    assert {c.pk for c in second.context["cases"]} == {c.pk for c in cases[10:]}
    beyond = agent_client.get(reverse("desk:cases"), {"per_page": 10, "page": 200})
    assert beyond.status_code == 200 and beyond.context["cases"] == []


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="the planner's estimate is PostgreSQL's")
def test_the_estimate_is_the_planners_row_count():
    from django.db import connection

    for _ in range(30):
        CaseFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    assert selectors.estimated_count(Case.objects.all()) == 30


def test_bad_filter_values_are_ignored_with_a_note_not_an_error(agent_client):
    CaseFactory()
    response = agent_client.get(reverse("desk:cases"), {
        "tier": "9", "received_after": "not-a-date", "page": "x", "per_page": "7",
        "sort": "nonsense",
    })
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()


def test_unknown_queue_is_reported_not_a_server_error(agent_client):
    response = agent_client.get(reverse("desk:cases"), {"queue": "nope"})
    assert response.status_code == 200


def test_customer_filter_lists_their_cases(agent_client):
    first = CaseFactory(phone="13700000001")
    second = CaseFactory(phone="13700000001")
    CaseFactory(phone="13700000002")
    customer = Customer.objects.get(phone="13700000001")
    assert set(_pks(agent_client, customer=customer.pk)) == {first.pk, second.pk}


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "abc"])
def test_a_customer_id_out_of_range_is_refused_not_a_500(agent_client, value):
    CaseFactory()
    response = agent_client.get(reverse("desk:cases"), {"customer": value})
    assert response.status_code == 200


def test_htmx_request_gets_only_the_table(agent_client):
    CaseFactory()
    response = agent_client.get(reverse("desk:cases"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-testid="case-table"' in html and "<html" not in html


def test_two_character_chinese_words_and_mixed_queries(agent_client):
    target = CaseFactory(subject="屏幕出现裂痕", description="订单 SO-778899 的手机屏幕有裂痕。")
    other = CaseFactory(subject="发票抬头错误", description="开具的发票抬头写错了。")
    assert _pks(agent_client, q="裂痕") == [target.pk]
    assert _pks(agent_client, q="屏幕 SO-778899") == [target.pk]
    assert _pks(agent_client, q="发票") == [other.pk]
    assert _pks(agent_client, q="抬头裂痕") == []


def test_search_results_are_sorted_paged_and_capped(agent_client, monkeypatch):
    now = timezone.now()
    cases = [CaseFactory(subject=f"快递延误 {i}") for i in range(3)]
    for hours, case in zip((5, 1, 3), cases, strict=True):
        Case.objects.filter(pk=case.pk).update(next_due_at=now + timedelta(hours=hours),
                                               received_at=now - timedelta(hours=hours))
    by_due = [cases[1].pk, cases[2].pk, cases[0].pk]
    assert _pks(agent_client, q="快递延误") == by_due
    assert _pks(agent_client, q="快递延误", sort="-received") == by_due
    assert _pks(agent_client, q="快递延误", per_page=10, page=1)[:1] == [cases[1].pk]
    monkeypatch.setattr(selectors, "SEARCH_CAP", 2)
    response = agent_client.get(reverse("desk:cases"), {"q": "快递延误"})
    assert response.context["search_capped"] is True
    assert len(response.context["cases"]) == 2
    assert "More than 2 cases match" in response.content.decode()


def test_chinese_query_becomes_a_bigram_phrase():
    assert selectors.cjk_tsquery("未按时") == "(未按 <-> 按时)"
    assert selectors.cjk_tsquery("退款 SO-1 物流") == "(退款) & (物流)"
    assert selectors.cjk_tsquery("王") == ""


def test_list_rows_show_the_case_in_the_users_time_zone_with_its_badges(client, frontline,
                                                                         supervisor):
    case = CaseFactory(key_customer=True)
    Case.objects.filter(pk=case.pk).update(received_at=datetime(2026, 3, 1, 15, 30, tzinfo=UTC))
    frontline.time_zone = "Asia/Tokyo"
    frontline.save()
    client.force_login(frontline)
    html = client.get(reverse("desk:cases"), {"queue": "all"}).content.decode()
    assert f'<tr data-case="{case.reference}">' in html
    assert f'href="{reverse("desk:case", args=[case.pk])}"' in html
    assert "2026-03-02 00:30" in html  # 15:30 UTC in Tokyo
    assert '<span class="badge text-bg-warning">Key customer</span>' in html
    # Bulk selection is for every agent (issue 16): assign to me, triage, link, merge.
    assert f'name="cases" value="{case.pk}"' in html
    client.force_login(supervisor)
    html = client.get(reverse("desk:cases"), {"queue": "all"}).content.decode()
    assert f'name="cases" value="{case.pk}" aria-label="Select {case.reference}"' in html
