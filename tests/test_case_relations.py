"""Link, merge (and undo), split: through the services and the desk (issue 16, item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases.choices import Category, NoteKind, Stage
from cases.models import (
    AuditEntry,
    Case,
    CaseAttachment,
    CaseDeadline,
    CaseLink,
    CaseMerge,
    CaseNote,
    CaseTransition,
    Notice,
)
from cases.models.notices import NoticeKind
from cases.services import ActionForbidden, ActionNotAllowed, InvalidInput, case_add_note
from cases.services.merging import case_link, case_merge, case_merge_undo, case_unlink
from cases.services.splitting import case_split
from reporting import selectors as reports
from reporting.periods import CUSTOM, resolve, today_local
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _same_customer_pair(**kw):
    """Two cases of one customer (intake matches the customer by phone)."""
    first = CaseFactory(phone="13900000001", email="wang@example.com", **kw)
    second = CaseFactory(phone="13900000001", email="wang@example.com", **kw)
    assert first.customer_id == second.customer_id
    return first, second


def _attach(case, name="发票.pdf"):
    return CaseAttachment.objects.create(case=case, file=ContentFile(b"%PDF-1.4", name=name),
                                         original_name=name, content_type="application/pdf",
                                         size=8)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _state(case):
    case.refresh_from_db()
    return (case.stage, case.closed_at, case.closing_reason, case.duplicate_of_id,
            case.next_due_at, case.sla_state, case.assign_due_at, case.response_due_at,
            case.solution_due_at)


# --- links ---------------------------------------------------------------------------------
def test_a_link_shows_on_both_cases_with_reference_stage_and_remove_button(client, frontline):
    a = CaseFactory()
    b = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(frontline)

    response = client.post(reverse("desk:case_link", args=[a.pk]), {"reference": b.reference})

    assert response.status_code == 302
    for case, other in ((a, b), (b, a)):
        page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
        assert f'data-linked="{other.reference}"' in page
        assert f'data-stage="{other.stage}"' in page
        assert 'data-testid="unlink"' in page
        assert CaseTransition.objects.filter(case=case, field="link", name="link",
                                             target=other.reference).exists()
    assert AuditEntry.objects.filter(target_type="cases.CaseLink", action="create").exists()


def test_unlink_removes_the_link_from_both_and_records_it(client, frontline):
    a, b = CaseFactory(), CaseFactory()
    link = case_link(actor=frontline, case_id=a.pk, other_id=b.pk)
    client.force_login(frontline)

    client.post(reverse("desk:case_unlink", args=[b.pk, link.pk]))

    assert not CaseLink.objects.exists()
    assert CaseTransition.objects.filter(name="unlink").count() == 2
    assert AuditEntry.objects.filter(target_type="cases.CaseLink", action="delete").exists()


@pytest.mark.parametrize("reference, message", [
    ("TS-2026-999999", "No case TS-2026-999999"),
    ("nonsense", "Write a case reference"),
])
def test_linking_to_an_unknown_or_malformed_reference_is_a_message(client, frontline,
                                                                   reference, message):
    a = CaseFactory()
    client.force_login(frontline)
    response = client.post(reverse("desk:case_link", args=[a.pk]), {"reference": reference})
    assert response.status_code == 302
    assert any(message in m for m in _messages(response))
    assert not CaseLink.objects.exists()


def test_linking_to_itself_or_twice_is_refused(frontline):
    a, b = CaseFactory(), CaseFactory()
    with pytest.raises(InvalidInput):
        case_link(actor=frontline, case_id=a.pk, other_id=a.pk)
    case_link(actor=frontline, case_id=a.pk, other_id=b.pk)
    with pytest.raises(InvalidInput, match="linked already"):
        case_link(actor=frontline, case_id=b.pk, other_id=a.pk)
    assert CaseLink.objects.count() == 1


# --- merge -----------------------------------------------------------------------------------
def test_merge_moves_notes_and_files_closes_the_duplicate_and_tells_the_customer_once(
        frontline, django_capture_on_commit_callbacks):
    primary, duplicate = _same_customer_pair()
    note = case_add_note(actor=frontline, case_id=duplicate.pk, body="客户补充：快递单号 SF123")
    CaseNote.objects.create(case=duplicate, kind=NoteKind.CUSTOMER_MESSAGE, body="我又来问了",
                            created_at=timezone.now())
    attachment = _attach(duplicate)
    running = set(CaseDeadline.objects.filter(case=duplicate, stopped_at__isnull=True)
                  .values_list("pk", flat=True))
    assert running

    with django_capture_on_commit_callbacks():
        merge = case_merge(actor=frontline, duplicate_id=duplicate.pk, primary_id=primary.pk)

    duplicate.refresh_from_db()
    assert duplicate.stage == Stage.INVALID and duplicate.duplicate_of_id == primary.pk
    assert duplicate.closed_at is not None and primary.reference in duplicate.closing_reason
    assert not CaseDeadline.objects.filter(case=duplicate, stopped_at__isnull=True).exists()
    assert CaseNote.objects.filter(case=primary, moved_from=duplicate).count() == 2
    note.refresh_from_db()
    attachment.refresh_from_db()
    assert note.case_id == primary.pk and attachment.case_id == primary.pk
    merged = Notice.objects.filter(kind=NoticeKind.MERGED)
    assert [(n.case_id, duplicate.reference in n.body) for n in merged] == [(primary.pk, True)]
    assert not Notice.objects.filter(case=duplicate, kind=NoticeKind.MERGED).exists()
    assert merge.snapshot["stage"] == Stage.RECEIVED

    # Undone and merged again: still one notice.
    case_merge_undo(actor=frontline, merge_id=merge.pk)
    case_merge(actor=frontline, duplicate_id=duplicate.pk, primary_id=primary.pk)
    assert Notice.objects.filter(kind=NoticeKind.MERGED).count() == 1


def test_the_primary_timeline_shows_the_moved_notes_marked_from_the_duplicate(client,
                                                                             frontline):
    primary, duplicate = _same_customer_pair()
    case_add_note(actor=frontline, case_id=duplicate.pk, body="从重复件来的备注")
    case_merge(actor=frontline, duplicate_id=duplicate.pk, primary_id=primary.pk)
    client.force_login(frontline)

    page = client.get(reverse("desk:case", args=[primary.pk])).content.decode()

    assert "从重复件来的备注" in page and 'data-testid="moved-from"' in page
    assert f'data-merged="{duplicate.reference}"' in page
    dup_page = client.get(reverse("desk:case", args=[duplicate.pk])).content.decode()
    assert 'data-testid="merged-into"' in dup_page and 'data-testid="undo-merge"' in dup_page


def test_undo_puts_everything_back_with_the_stage_and_clocks_it_had(supervisor):
    primary, duplicate = _same_customer_pair(stage=Stage.TRIAGED)
    note = case_add_note(actor=supervisor, case_id=duplicate.pk, body="备注")
    attachment = _attach(duplicate)
    before = _state(duplicate)
    running = set(CaseDeadline.objects.filter(case=duplicate, stopped_at__isnull=True)
                  .values_list("pk", flat=True))

    merge = case_merge(actor=supervisor, duplicate_id=duplicate.pk, primary_id=primary.pk)
    case_merge_undo(actor=supervisor, merge_id=merge.pk)

    assert _state(duplicate) == before
    note.refresh_from_db()
    attachment.refresh_from_db()
    assert (note.case_id, note.moved_from_id) == (duplicate.pk, None)
    assert (attachment.case_id, attachment.moved_from_id) == (duplicate.pk, None)
    assert set(CaseDeadline.objects.filter(case=duplicate, stopped_at__isnull=True)
               .values_list("pk", flat=True)) == running
    merge.refresh_from_db()
    assert merge.undone_by == supervisor
    assert CaseTransition.objects.filter(case=duplicate, name="restore_merged",
                                         target=Stage.TRIAGED).exists()
    assert CaseTransition.objects.filter(case=primary, name="merge_undone").exists()


def _figures():
    today = today_local()
    period = resolve(CUSTOM, today=today, first=today - timedelta(days=30), last=today)
    board = reports.dashboard(period, timezone.now())
    return board.volume, [(line.kpi.code, line.numerator, line.denominator)
                          for line in board.lines]


def test_merge_and_undo_leave_the_kpis_as_before(supervisor):
    primary, duplicate = _same_customer_pair(stage=Stage.IN_PROGRESS)
    CaseFactory(stage=Stage.CLOSED)
    call_command("kpi_summaries", "--verify", "60")
    before = _figures()

    merge = case_merge(actor=supervisor, duplicate_id=duplicate.pk, primary_id=primary.pk)
    call_command("kpi_summaries", "--verify", "60")  # raises CommandError on any difference
    during = _figures()
    case_merge_undo(actor=supervisor, merge_id=merge.pk)
    call_command("kpi_summaries", "--verify", "60")

    assert during[0] == before[0] - 1  # the merged case counts in no KPI
    assert _figures() == before


@pytest.mark.parametrize("setup, error, message", [
    ("self", InvalidInput, "into itself"),
    ("closed_primary", InvalidInput, "merge into an open case"),
    ("other_customer", InvalidInput, "different customers"),
    ("under_review", ActionNotAllowed, "only an open case"),
    ("merged_primary", InvalidInput, "merge into an open case"),
])
def test_merges_that_are_refused_change_nothing(supervisor, setup, error, message):
    primary, duplicate = _same_customer_pair()
    if setup == "self":
        primary = duplicate
    elif setup == "closed_primary":
        primary = CaseFactory(phone="13900000001", email="wang@example.com",
                              stage=Stage.CLOSED)
    elif setup == "other_customer":
        primary = CaseFactory()
    elif setup == "under_review":
        duplicate = CaseFactory(phone="13900000001", email="wang@example.com",
                                stage=Stage.REVIEW)
    elif setup == "merged_primary":
        third = CaseFactory(phone="13900000001", email="wang@example.com")
        case_merge(actor=supervisor, duplicate_id=primary.pk, primary_id=third.pk)
    before = _state(duplicate)
    notices = Notice.objects.count()

    with pytest.raises(error, match=message):
        case_merge(actor=supervisor, duplicate_id=duplicate.pk, primary_id=primary.pk)

    assert _state(duplicate) == before
    assert Notice.objects.count() == notices


def test_a_case_under_a_statutory_regime_is_not_merged(supervisor):
    from cases.models import CaseRegime, Regime

    primary, duplicate = _same_customer_pair()
    CaseRegime.objects.create(case=duplicate, regime=Regime.objects.first())
    with pytest.raises(ActionNotAllowed, match="statutory regime"):
        case_merge(actor=supervisor, duplicate_id=duplicate.pk, primary_id=primary.pk)


def test_an_agent_who_neither_owns_nor_handles_the_case_may_not_merge_it(frontline,
                                                                        frontline2):
    primary, duplicate = _same_customer_pair(actor=frontline, channel_kind="hotline")
    with pytest.raises(ActionForbidden):
        case_merge(actor=frontline2, duplicate_id=duplicate.pk, primary_id=primary.pk)
    assert Case.objects.get(pk=duplicate.pk).stage == Stage.RECEIVED


def test_undo_after_7_days_or_by_another_agent_is_refused(frontline, frontline2, supervisor):
    primary, duplicate = _same_customer_pair()
    merge = case_merge(actor=frontline, duplicate_id=duplicate.pk, primary_id=primary.pk)
    with pytest.raises(ActionForbidden):
        case_merge_undo(actor=frontline2, merge_id=merge.pk)
    CaseMerge.objects.filter(pk=merge.pk).update(
        merged_at=timezone.now() - timedelta(days=7, minutes=1))
    with pytest.raises(ActionNotAllowed, match="7 days"):
        case_merge_undo(actor=supervisor, merge_id=merge.pk)
    assert Case.objects.get(pk=duplicate.pk).stage == Stage.INVALID


def test_undo_is_refused_once_the_primary_was_merged_itself(supervisor):
    primary, duplicate = _same_customer_pair()
    third = CaseFactory(phone="13900000001", email="wang@example.com")
    first = case_merge(actor=supervisor, duplicate_id=duplicate.pk, primary_id=primary.pk)
    with pytest.raises(ActionNotAllowed, match="Other cases were merged"):
        case_merge(actor=supervisor, duplicate_id=primary.pk, primary_id=third.pk)
    # A supervisor closes the primary as invalid instead: undoing is no longer safe.
    from cases.services import case_invalidate

    case_invalidate(actor=supervisor, case_id=primary.pk, reason="客户撤回")
    with pytest.raises(ActionNotAllowed, match="no longer safe"):
        case_merge_undo(actor=supervisor, merge_id=first.pk)


def test_undo_is_refused_when_a_moved_note_was_split_off_since(supervisor):
    primary, duplicate = _same_customer_pair()
    note = case_add_note(actor=supervisor, case_id=duplicate.pk, body="第二件事")
    merge = case_merge(actor=supervisor, duplicate_id=duplicate.pk, primary_id=primary.pk)
    case_split(actor=supervisor, case_id=primary.pk, subject="另一件事", description="发票问题",
               category=Category.BILLING, note_ids=[note.pk])
    with pytest.raises(ActionNotAllowed, match="no longer safe"):
        case_merge_undo(actor=supervisor, merge_id=merge.pk)


def test_merge_page_errors_are_shown_and_change_nothing(client, frontline):
    duplicate = CaseFactory()
    client.force_login(frontline)
    url = reverse("desk:case_merge", args=[duplicate.pk])
    for primary, text in ((duplicate.reference, "into itself"),
                          ("TS-2026-999999", "No case TS-2026-999999"),
                          ("", "This field is required")):
        response = client.post(url, {"primary": primary})
        assert response.status_code == 400
        assert text in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.stage == Stage.RECEIVED and not CaseMerge.objects.exists()


def test_merge_and_undo_through_the_desk(client, frontline):
    primary, duplicate = _same_customer_pair()
    client.force_login(frontline)
    assert client.get(reverse("desk:case_merge", args=[duplicate.pk])).status_code == 200

    response = client.post(reverse("desk:case_merge", args=[duplicate.pk]),
                           {"primary": primary.reference.lower(), "note": "同一件事"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:case", args=[primary.pk]))
    merge = CaseMerge.objects.get()
    response = client.post(reverse("desk:merge_undo", args=[merge.pk]))
    assert response["Location"] == reverse("desk:case", args=[duplicate.pk])
    assert Case.objects.get(pk=duplicate.pk).stage == Stage.RECEIVED


@pytest.mark.parametrize("who, expected", [
    ("anonymous", 302), ("liaison", 403), ("other_agent", 403),
])
def test_who_may_not_merge_or_undo(client, liaison, frontline, frontline2, who, expected):
    primary, duplicate = _same_customer_pair(actor=frontline, channel_kind="hotline")
    merge = case_merge(actor=frontline, duplicate_id=duplicate.pk, primary_id=primary.pk)
    other = CaseFactory(phone="13900000001", email="wang@example.com", actor=frontline,
                        channel_kind="hotline")
    if who == "liaison":
        client.force_login(liaison)
    elif who == "other_agent":
        client.force_login(frontline2)

    undo = client.post(reverse("desk:merge_undo", args=[merge.pk]))
    merge_other = client.post(reverse("desk:case_merge", args=[other.pk]),
                              {"primary": primary.reference})

    assert undo.status_code == expected and merge_other.status_code == expected
    if expected == 302:
        assert "/accounts/login/" in undo["Location"]
    assert Case.objects.get(pk=duplicate.pk).stage == Stage.INVALID
    assert Case.objects.get(pk=other.pk).stage == Stage.RECEIVED


# --- split -----------------------------------------------------------------------------------
def test_split_gives_a_second_case_with_its_own_reference_and_clocks(client, frontline):
    original = CaseFactory()  # nobody owns it yet: any agent may split it
    Case.objects.filter(pk=original.pk).update(
        received_at=timezone.now() - timedelta(hours=1))
    original.refresh_from_db()
    note = case_add_note(actor=frontline, case_id=original.pk, body="发票金额也不对")
    kept = case_add_note(actor=frontline, case_id=original.pk, body="物流问题")
    attachment = _attach(original)
    client.force_login(frontline)
    assert client.get(reverse("desk:case_split", args=[original.pk])).status_code == 200

    response = client.post(reverse("desk:case_split", args=[original.pk]), {
        "subject": "发票金额错误", "category": Category.BILLING, "description": "发票多开了50元",
        "notes": [note.pk], "attachments": [attachment.pk]})

    assert response.status_code == 302
    new = Case.objects.exclude(pk=original.pk).get()
    assert response["Location"] == reverse("desk:case", args=[new.pk])
    assert new.reference != original.reference and new.tracking_code != original.tracking_code
    assert new.customer_id == original.customer_id and new.stage == Stage.RECEIVED
    assert new.received_at == original.received_at  # regulators count from receipt
    assert new.duplicate_of_id is None
    assert CaseDeadline.objects.filter(case=new, stopped_at__isnull=True).exists()
    assert new.assign_due_at < timezone.now() + timedelta(hours=2)
    note.refresh_from_db()
    kept.refresh_from_db()
    attachment.refresh_from_db()
    assert (note.case_id, note.moved_from_id) == (new.pk, original.pk)
    assert kept.case_id == original.pk and attachment.case_id == new.pk
    assert CaseLink.objects.filter(from_case=original, to_case=new, kind="split").exists()
    assert Notice.objects.filter(case=new, kind=NoticeKind.ACKNOWLEDGEMENT).exists()
    assert AuditEntry.objects.filter(target_type="cases.Case", target_id=str(new.pk),
                                     detail__split_from=original.reference).exists()
    original.refresh_from_db()
    assert original.stage == Stage.RECEIVED


def test_split_with_a_note_of_another_case_changes_nothing(client, frontline):
    original, other = CaseFactory(), CaseFactory()
    foreign = case_add_note(actor=frontline, case_id=other.pk, body="别的案件")
    count = Case.objects.count()
    with pytest.raises(InvalidInput):
        case_split(actor=frontline, case_id=original.pk, subject="x", description="y",
                   category=Category.BILLING, note_ids=[foreign.pk])
    assert Case.objects.count() == count
    client.force_login(frontline)
    response = client.post(reverse("desk:case_split", args=[original.pk]), {
        "subject": "", "category": Category.BILLING, "description": "y"})
    assert response.status_code == 400 and Case.objects.count() == count


def test_a_closed_case_is_not_split(supervisor):
    closed = CaseFactory(stage=Stage.CLOSED)
    with pytest.raises(ActionNotAllowed):
        case_split(actor=supervisor, case_id=closed.pk, subject="x", description="y",
                   category=Category.BILLING)


def test_unlink_of_another_case_link_is_refused(frontline):
    a, b, c = CaseFactory(), CaseFactory(), CaseFactory()
    link = case_link(actor=frontline, case_id=a.pk, other_id=b.pk)
    with pytest.raises(ActionNotAllowed):
        case_unlink(actor=frontline, case_id=c.pk, link_id=link.pk)
    assert CaseLink.objects.count() == 1


def test_the_workspace_with_relations_keeps_its_query_budget(client, frontline,
                                                             django_assert_max_num_queries):
    primary, duplicate = _same_customer_pair()
    for _ in range(3):
        case_link(actor=frontline, case_id=primary.pk, other_id=CaseFactory().pk)
    case_merge(actor=frontline, duplicate_id=duplicate.pk, primary_id=primary.pk)
    client.force_login(frontline)
    client.get(reverse("desk:case", args=[primary.pk]))
    baseline_user = UserFactory(username="fresh", role="frontline_agent")
    client.force_login(baseline_user)
    with django_assert_max_num_queries(40):
        assert client.get(reverse("desk:case", args=[primary.pk])).status_code == 200
