"""Bulk actions for agents (issue 16, item 6) and group complaints managed as a group."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.choices import Stage, Tier
from cases.models import Case, CaseLink, CaseMerge, CaseNote, CaseTransition, ComplaintGroup
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _bulk(client, action, cases, **extra):
    return client.post(reverse("desk:bulk"), {"action": action,
                                              "cases": [c.pk for c in cases], **extra})


def _listed(response, testid):
    page = response.content.decode()
    section = page.split(f'data-testid="{testid}"', 1)[1].split("</ul>", 1)[0]
    return section


# --- bulk ------------------------------------------------------------------------------------
def test_agents_get_the_bulk_panel_with_their_actions_only(client, frontline, supervisor):
    CaseFactory()
    client.force_login(frontline)
    page = client.get(reverse("desk:cases")).content.decode()
    assert 'data-testid="bulk-actions"' in page and 'value="assign_me"' in page
    assert 'value="transfer"' not in page
    client.force_login(supervisor)
    page = client.get(reverse("desk:cases")).content.decode()
    assert 'value="transfer"' in page and 'value="assign_me"' in page


def test_bulk_assign_to_me_lists_done_and_refused_with_the_reason(client, frontline):
    mine = [CaseFactory(actor=frontline, channel_kind="hotline") for _ in range(2)]
    for case in mine:  # triaged by their owner
        from cases.services import case_triage

        case_triage(actor=frontline, case_id=case.pk, urgency=case.urgency, scope=case.scope,
                    difficulty=case.difficulty, tier=Tier.ROUTINE)
    untriaged = CaseFactory()
    client.force_login(frontline)

    response = _bulk(client, "assign_me", [*mine, untriaged])

    assert response.status_code == 200
    done, refused = _listed(response, "bulk-done"), _listed(response, "bulk-refused")
    assert all(c.reference in done for c in mine) and untriaged.reference in refused
    assert "Assign" in refused.split(untriaged.reference, 1)[1]  # the reason is given
    assert set(Case.objects.filter(handler=frontline).values_list("pk", flat=True)) == {
        c.pk for c in mine}
    assert Case.objects.get(pk=untriaged.pk).stage == Stage.RECEIVED


def test_bulk_triage_with_one_tier(client, frontline):
    cases = [CaseFactory() for _ in range(3)]
    client.force_login(frontline)
    response = _bulk(client, "triage", cases, tier="2")
    assert response.status_code == 200
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases])
               .values_list("stage", "tier")) == {(Stage.TRIAGED, Tier.IMPORTANT)}


def test_bulk_triage_without_a_tier_is_a_message_and_changes_nothing(client, frontline):
    case = CaseFactory()
    client.force_login(frontline)
    response = _bulk(client, "triage", [case], next="/desk/cases/?queue=open")
    assert response.status_code == 302 and response["Location"] == "/desk/cases/?queue=open"
    assert Case.objects.get(pk=case.pk).stage == Stage.RECEIVED


def test_bulk_link_and_close_as_duplicate(client, frontline):
    primary = CaseFactory(phone="13900000009", email="li@example.com")
    repeats = [CaseFactory(phone="13900000009", email="li@example.com") for _ in range(2)]
    stranger = CaseFactory()
    client.force_login(frontline)

    linked = _bulk(client, "link", [stranger], primary=primary.reference)
    merged = _bulk(client, "duplicate", [*repeats, stranger], primary=primary.reference)

    assert linked.status_code == 200 and CaseLink.objects.count() == 1
    assert stranger.reference in _listed(merged, "bulk-refused")
    assert "different customers" in _listed(merged, "bulk-refused")
    assert set(CaseMerge.objects.values_list("duplicate_id", flat=True)) == {
        c.pk for c in repeats}


def test_bulk_merge_into_an_unknown_reference_is_a_message(client, frontline):
    case = CaseFactory()
    client.force_login(frontline)
    response = _bulk(client, "duplicate", [case], primary="TS-2026-999999")
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).stage == Stage.RECEIVED


def test_supervisor_only_bulk_actions_are_forbidden_to_agents(client, frontline, frontline2):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)
    for action in ("assign", "transfer"):
        response = _bulk(client, action, [case], agent=frontline2.pk, reason="调岗")
        assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).handler_id is None


def test_bulk_is_for_agents(client, liaison):
    case = CaseFactory()
    assert _bulk(client, "assign_me", [case]).status_code == 302  # to the login page
    client.force_login(liaison)
    assert _bulk(client, "assign_me", [case]).status_code == 403


def test_bulk_queries_grow_by_a_bounded_number_per_case(client, frontline,
                                                        django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(frontline)
    counts = []
    for n in (2, 6):
        cases = [CaseFactory() for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            _bulk(client, "triage", cases, tier="3")
        counts.append(len(ctx.captured_queries))
    per_case = (counts[1] - counts[0]) / 4
    assert per_case <= 30  # each case: its own triage service, nothing that grows with the list
    assert counts[0] <= 12 + 2 * per_case


# --- groups ----------------------------------------------------------------------------------
@pytest.fixture
def group_cases(db):
    from cases.models import DeskSettings
    from cases.services import desk_config

    DeskSettings.objects.filter(pk=1).update(group_threshold=3)
    desk_config.forget()
    cases = [CaseFactory(order_ref="ORD-777", category="delivery") for _ in range(3)]
    group = ComplaintGroup.objects.get()
    assert Case.objects.filter(group=group).count() == 3
    return group, cases


def test_the_group_page_lists_its_cases_with_stage_and_clock(client, frontline, group_cases,
                                                             django_assert_max_num_queries):
    group, cases = group_cases
    client.force_login(frontline)
    with django_assert_max_num_queries(12):
        client.get(reverse("desk:group", args=[group.pk]))
    from cases.services.groups import group_add_case

    for _ in range(4):
        group_add_case(actor=frontline, group_id=group.pk, case_id=CaseFactory().pk)
    with django_assert_max_num_queries(12):  # the same with more cases
        response = client.get(reverse("desk:group", args=[group.pk]))
    page = response.content.decode()
    assert all(f'data-case="{c.reference}"' in page for c in cases)
    assert 'data-stage="received"' in page and "data-due=" in page
    listing = client.get(reverse("desk:groups")).content.decode()
    assert f'data-group="{group.pk}"' in listing
    cases_page = client.get(reverse("desk:cases")).content.decode()
    assert reverse("desk:group", args=[group.pk]) in cases_page  # the badge links the group
    workspace = client.get(reverse("desk:case", args=[cases[0].pk])).content.decode()
    assert 'data-testid="group-link"' in workspace


def test_assign_all_takes_every_open_case_and_lists_refusals(client, supervisor, senior,
                                                              frontline2, group_cases):
    group, cases = group_cases  # three received cases (a group: tier 2 suggested)
    from cases.services import case_assign, case_triage
    from cases.services.recusal import case_set_complained_employee

    case_triage(actor=supervisor, case_id=cases[0].pk, urgency=cases[0].urgency,
                scope=cases[0].scope, difficulty=cases[0].difficulty, tier=Tier.ROUTINE)
    case_set_complained_employee(actor=supervisor, case_id=cases[1].pk, employee=senior)
    in_hand = CaseFactory(order_ref="ORD-777", category="delivery")
    case_triage(actor=supervisor, case_id=in_hand.pk, urgency=in_hand.urgency,
                scope=in_hand.scope, difficulty=in_hand.difficulty, tier=Tier.ROUTINE)
    case_assign(actor=supervisor, case_id=in_hand.pk, handler=frontline2)
    client.force_login(supervisor)

    response = client.post(reverse("desk:group", args=[group.pk]),
                           {"action": "assign", "agent": senior.pk})

    assert response.status_code == 200
    done, refused = _listed(response, "bulk-done"), _listed(response, "bulk-refused")
    assert cases[0].reference in done and cases[2].reference in done  # triaged and received
    assert "triaged as tier 2" in done
    assert cases[1].reference in refused and "Recusal" in refused  # about the senior
    assert in_hand.reference in refused and "already in hand" in refused
    assert set(Case.objects.filter(group=group, handler=senior).values_list(
        "pk", flat=True)) == {cases[0].pk, cases[2].pk}
    assert Case.objects.get(pk=cases[1].pk).stage == Stage.RECEIVED  # triage rolled back
    assert Case.objects.get(pk=in_hand.pk).handler == frontline2


def test_assign_all_by_an_agent_skips_cases_they_may_not_assign(client, frontline, senior,
                                                                  supervisor, group_cases):
    group, cases = group_cases
    from cases.services import case_triage

    case_triage(actor=supervisor, case_id=cases[0].pk, urgency=cases[0].urgency,
                scope=cases[0].scope, difficulty=cases[0].difficulty, tier=Tier.ROUTINE)
    client.force_login(frontline)

    response = client.post(reverse("desk:group", args=[group.pk]),
                           {"action": "assign", "agent": senior.pk})

    # The supervisor owns case 0; the frontline agent owns the two they triaged themselves.
    assert cases[0].reference in _listed(response, "bulk-refused")
    assert set(Case.objects.filter(group=group, handler=senior).values_list(
        "pk", flat=True)) == {cases[1].pk, cases[2].pk}


def test_a_note_on_all_cases_of_the_group(client, frontline, group_cases):
    group, cases = group_cases
    client.force_login(frontline)
    response = client.post(reverse("desk:group", args=[group.pk]),
                           {"action": "note", "body": "已统一联系物流"})
    assert response.status_code == 200
    assert CaseNote.objects.filter(body="已统一联系物流").count() == 3
    empty = client.post(reverse("desk:group", args=[group.pk]), {"action": "note", "body": ""})
    assert empty.status_code == 400 and CaseNote.objects.filter(body="").count() == 0


def test_add_and_remove_a_case(client, frontline, group_cases):
    group, cases = group_cases
    outsider = CaseFactory()
    client.force_login(frontline)
    members = reverse("desk:group_members", args=[group.pk])

    client.post(members, {"reference": outsider.reference})
    client.post(members, {"remove": cases[0].pk})

    group.refresh_from_db()
    assert set(Case.objects.filter(group=group).values_list("pk", flat=True)) == {
        cases[1].pk, cases[2].pk, outsider.pk}
    assert group.case_count == 3
    assert CaseTransition.objects.filter(case=outsider, field="group", name="group_add").exists()
    assert CaseTransition.objects.filter(case=cases[0], name="group_remove").exists()
    bad = client.post(members, {"reference": "TS-2026-999999"})
    assert bad.status_code == 400 and "No case TS-2026-999999" in bad.content.decode()


def test_group_pages_are_for_agents(client, liaison, group_cases):
    group, _cases = group_cases
    url = reverse("desk:group", args=[group.pk])
    assert client.get(url).status_code == 302
    client.force_login(liaison)
    assert client.get(url).status_code == 403
    assert client.post(reverse("desk:group_members", args=[group.pk]),
                       {"remove": _cases[0].pk}).status_code == 403
    assert Case.objects.filter(group=group).count() == 3
